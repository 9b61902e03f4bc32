"""Ctrl-C and SIGTERM during ``pipeloop run``: the run is cancelled cleanly, once.

The first SIGINT or SIGTERM cancels the run's cancel scope: ``async def`` nodes are
cancelled where they wait, no new node starts, and a file dataset being saved removes its
temporary file. The command then reports the nodes to resume from and exits with status
128 + the signal's number (130 for SIGINT, 143 for SIGTERM).

What cannot be cancelled finishes first: a plain function running inline on the loop
(``SequentialRunner``) ends before the loop sees the signal; one running in a thread
(``ThreadRunner``) is abandoned by the run, but the process waits for the thread before it
exits. So the first signal also restores the signals' default actions, at once, even while
the loop is busy: a second Ctrl-C (or SIGTERM) ends the process immediately, abandoning that
work. The run record written at the first signal stays, so ``--resume`` still works.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from types import FrameType, TracebackType
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskStatus

from pipeloop.cli.errors import signal_name

__all__ = ["SignalWatcher"]

T = TypeVar("T")


def _watchable() -> tuple[signal.Signals, ...]:
    """The signals this process can watch: SIGINT and SIGTERM, on POSIX, from the main
    thread, unless the process was started with them ignored (a background job)."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return ()
    return tuple(signum for signum in (signal.SIGINT, signal.SIGTERM)
                 if signal.getsignal(signum) is not signal.SIG_IGN)


def _is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``KeyboardInterrupt``, or a group of nothing else."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return isinstance(exc, BaseExceptionGroup) and exc.split(KeyboardInterrupt)[1] is None


def _default_actions(signals: tuple[signal.Signals, ...]) -> None:
    for signum in signals:
        signal.signal(signum, signal.SIG_DFL)


def _announce(signum: int) -> None:
    """Say at once what the first signal does. Written straight to the file descriptor: this
    runs in a signal handler, possibly in the middle of another write to ``sys.stderr``."""
    name = signal_name(signum)
    again = "Press Ctrl-C" if signum == signal.SIGINT else f"Send {name}"
    text = (f"\n{name} received: stopping the run; no new node starts. {again} again to "
            "stop at once, abandoning work still running.\n")
    with contextlib.suppress(OSError):  # stderr closed: nothing to tell
        os.write(2, text.encode("utf-8", "replace"))


class SignalWatcher:
    """Cancels a run on the first SIGINT or SIGTERM, and remembers which signal came.

    Use it as a context manager around ``anyio.run`` (it puts the signal handlers back as
    they were when no signal came), and :meth:`cancel_on_signal` inside the loop.

    Args:
        on_signal: called when the first signal arrives, from the signal handler, before
            the run is cancelled (the CLI records where to resume, in case a second signal
            ends the process before the run does). Keep it short and self-contained: it runs
            in the middle of whatever the main thread was doing.

    Attributes:
        signum: the first signal received, or ``None``.
        completed: whether the function :meth:`cancel_on_signal` ran returned (a signal
            may come too late to cancel it).
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.signum: int | None = None
        self.completed = False
        self._on_signal = on_signal
        self._signals = _watchable()
        self._saved: dict[int, Any] = {}

    def __enter__(self) -> SignalWatcher:
        self._saved = {signum: signal.getsignal(signum) for signum in self._signals}
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self.signum is not None:
            return  # keep the default actions: a second signal must end the process
        for signum, handler in self._saved.items():
            if handler is not None:
                signal.signal(signum, handler)

    async def cancel_on_signal(self, func: Callable[[], Awaitable[T]]) -> T | None:
        """``await func()``, cancelled by the first SIGINT or SIGTERM.

        Returns:
            What ``func`` returns; ``None`` when a signal cancelled it.

        Raises:
            Exception: whatever ``func`` raises, as it is (not in an exception group).
        """
        results: list[T] = []
        errors: list[Exception] = []
        async with anyio.create_task_group() as group:
            await group.start(self._watch, group.cancel_scope)
            try:
                results.append(await func())
            except Exception as exc:
                errors.append(exc)
            except BaseException as exc:
                if not _is_interrupt(exc):
                    raise
                # A KeyboardInterrupt from inside the run (a platform without signal
                # handlers, a process that raised it): the same as a SIGINT.
                self._arrived(signal.SIGINT, None)
            group.cancel_scope.cancel()
        if errors:
            raise errors[0]
        self.completed = bool(results)
        return results[0] if results else None

    async def _watch(self, scope: anyio.CancelScope, *,
                     task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        if not self._signals:
            task_status.started()
            return
        try:
            with anyio.open_signal_receiver(*self._signals) as received:
                # The loop hears of a signal through its wake-up file descriptor, which
                # still works with this handler in place; the handler itself runs even when
                # a plain function blocks the loop, so a second signal always gets through.
                for signum in self._signals:
                    signal.signal(signum, self._arrived)
                task_status.started()
                async for signum in received:
                    self._arrived(signum, None)
                    scope.cancel()
                    return
        finally:
            if self.signum is not None:
                # Leaving the receiver re-installed Python's handlers; undo that.
                _default_actions(self._signals)

    def _arrived(self, signum: int, _frame: FrameType | None) -> None:
        """The first signal: remember it, say so, give both signals back their default
        action, and call ``on_signal``. Runs as the signal handler (at once, even while a
        plain function blocks the loop), and again when the loop receives the signal."""
        if self.signum is not None:
            return
        self.signum = signum
        _default_actions(self._signals)
        _announce(signum)
        if self._on_signal is not None:
            # An error here would surface in whatever code the signal interrupted; the
            # caller's own handling of the cancelled run comes after and will report it.
            with contextlib.suppress(Exception):
                self._on_signal(signum)
