"""Ctrl-C, SIGTERM and SIGHUP during ``pipeloop run``: the run is stopped cleanly, once.

The first signal asks the run to start no new node (``RunReport.request_stop``) and cancels
it: ``async def`` nodes are cancelled where they wait, a file dataset being saved removes its
temporary file, and a plain function running inline on the main thread (``SequentialRunner``)
is interrupted where it stands (:mod:`pipeloop.engine.inline`). Plain functions running in
threads (``ThreadRunner``) cannot be interrupted: the run waits for them at most the runner's
``grace_period``, and what they save in that time counts as done. The command then reports
the nodes to resume from and exits with status 128 + the signal's number (130 for SIGINT,
143 for SIGTERM, 129 for SIGHUP), abandoning threads still running.

The first signal also restores the signals' default actions, at once, even while the loop is
busy: a second one ends the process immediately. The run record written at the first signal
stays, so ``--resume`` still works.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from functools import partial
from types import FrameType, TracebackType
from typing import Any, TypeVar

import anyio
from anyio.abc import TaskStatus

from pipeloop.cli.errors import signal_name
from pipeloop.engine.inline import inline_node, interrupt_inline_node
from pipeloop.engine.report import RunReport

__all__ = ["SignalWatcher"]

T = TypeVar("T")


def _watchable() -> tuple[signal.Signals, ...]:
    """The signals this process can watch: SIGINT, SIGTERM and SIGHUP (a closed terminal or
    SSH session), on POSIX, from the main thread, unless the process was started with them
    ignored (a background job, ``nohup``)."""
    if sys.platform == "win32" or threading.current_thread() is not threading.main_thread():
        return ()
    return tuple(signum for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
                 if signal.getsignal(signum) is not signal.SIG_IGN)


def _is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is a ``KeyboardInterrupt``, or a group of nothing else."""
    if isinstance(exc, KeyboardInterrupt):
        return True
    return isinstance(exc, BaseExceptionGroup) and exc.split(KeyboardInterrupt)[1] is None


def _default_actions(signals: tuple[signal.Signals, ...]) -> None:
    for signum in signals:
        signal.signal(signum, signal.SIG_DFL)


#: Seconds between looks at which nodes are still running, during the grace period.
_POLL_INTERVAL = 0.05


def _write_now(text: str) -> None:
    """Write to stderr's file descriptor: this may run in a signal handler, possibly in the
    middle of another write to ``sys.stderr``."""
    with contextlib.suppress(OSError):  # stderr closed: nothing to tell
        os.write(2, text.encode("utf-8", "replace"))


def _announce(signum: int) -> None:
    """Say at once what the first signal does."""
    name = signal_name(signum)
    again = "Press Ctrl-C" if signum == signal.SIGINT else f"Send {name}"
    _write_now(f"\n{name} received: stopping the run; no new node starts. {again} again "
               "to stop at once, abandoning work still running.\n")


class SignalWatcher:
    """Stops a run on the first SIGINT, SIGTERM or SIGHUP, and remembers which signal came.

    Use it as a context manager around ``anyio.run`` (it puts the signal handlers back as
    they were when no signal came), and :meth:`cancel_on_signal` inside the loop.

    Args:
        on_signal: called when the first signal arrives, from the signal handler, before
            the run is cancelled (the CLI records where to resume, in case a second signal
            ends the process before the run does). Keep it short and self-contained: it runs
            in the middle of whatever the main thread was doing.
        report: the run's report: asked to stop starting nodes at the first signal, and
            read for the plain nodes still running.
        grace_period: seconds to wait for plain nodes running in threads before the run is
            cancelled (0: cancel at once).

    Attributes:
        signum: the first signal received, or ``None``.
        completed: whether the function :meth:`cancel_on_signal` ran returned (a signal
            may come too late to cancel it).
    """

    def __init__(self, on_signal: Callable[[int], None] | None = None, *,
                 report: RunReport | None = None, grace_period: float = 0.0) -> None:
        self.signum: int | None = None
        self.completed = False
        self._on_signal = on_signal
        self._report = report
        self._grace_period = grace_period
        self._signals = _watchable()
        self._saved: dict[int, Any] = {}
        self._cancel_run: Callable[[], object] | None = None

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
        loop = asyncio.get_running_loop()
        self._cancel_run = partial(loop.call_soon_threadsafe, scope.cancel)
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
                    await self._let_threads_finish()
                    scope.cancel()
                    return
        finally:
            self._cancel_run = None
            if self.signum is not None:
                # Leaving the receiver re-installed Python's handlers; undo that.
                _default_actions(self._signals)

    async def _let_threads_finish(self) -> None:
        """Wait, at most the grace period, for the plain nodes running in threads (which
        cancellation cannot stop) to end, saying which they are; the run has stopped
        starting nodes, so what they save counts as done."""
        if self._report is None or self._grace_period <= 0:
            return
        running = self._report.running_nodes(plain_only=True)
        if not running:
            return
        _write_now(f"Waiting up to {self._grace_period:g} s for the node(s) still running "
                   f"in threads to finish: {', '.join(running)}.\n")
        with anyio.move_on_after(self._grace_period):
            while running:
                await anyio.sleep(_POLL_INTERVAL)
                running = self._report.running_nodes(plain_only=True)
        if running:
            _write_now(f"Stopped waiting for: {', '.join(running)}; their work is "
                       "abandoned.\n")

    def _arrived(self, signum: int, frame: FrameType | None) -> None:
        """The first signal: remember it, say so, give the signals back their default
        action, call ``on_signal`` and cancel the run. Runs as the signal handler (at once,
        even while a plain function blocks the loop), and again when the loop receives the
        signal.

        As the handler, it also stops a plain node running inline on the main thread, by
        raising inside it (:func:`~pipeloop.engine.inline.interrupt_inline_node`), and asks
        the loop to cancel the run at its next turn, before any other node can start.
        """
        if self.signum is not None:
            return
        self.signum = signum
        if self._report is not None:
            self._report.request_stop()  # before anything else: no node may start now
        _default_actions(self._signals)
        _announce(signum)
        if self._on_signal is not None:
            # An error here would surface in whatever code the signal interrupted; the
            # caller's own handling of the cancelled run comes after and will report it.
            with contextlib.suppress(Exception):
                self._on_signal(signum)
        if frame is None or inline_node() is None:
            return  # the loop hears of the signal and cancels the run
        # A plain node on this thread holds the loop: cancel the run at the loop's next
        # turn, and end the node now, where it stands.
        if self._cancel_run is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closed: nothing to cancel
                self._cancel_run()
        interrupt_inline_node(signal_name(signum))
