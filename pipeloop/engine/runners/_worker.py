"""What runs inside a ``ParallelRunner`` worker process, forked from its pool's zygote.

A worker talks to the parent only on its own socket (:mod:`._wire`); its stdin is
``/dev/null`` and its stdout and stderr are the parent's, so programs a node runs behave as
in a terminal. Inside the worker, ``sys.stdout``, ``sys.stderr`` and the root logger send
what the node prints and logs to the parent as it happens. The worker leads a process group
of its own, which the node's children join: killing the group ends them all. A watchdog
thread kills that group when the parent dies.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, NoReturn

from pipeloop.engine.runners import _wire
from pipeloop.engine.runners._remote import describe

__all__ = ["LoadHere", "SavedThere", "serve"]


@dataclass(frozen=True, slots=True)
class LoadHere:
    """Stands for a node input that the worker running the node loads itself, from
    ``dataset`` (a ParallelRunner worker process, a Dask worker)."""

    name: str
    dataset: Any

    def __repr__(self) -> str:
        return f"<'{self.name}', loaded by the worker that runs the node>"


@dataclass(frozen=True, slots=True)
class SavedThere:
    """Returned for an output the worker saved itself, to ``dataset``."""

    name: str

    def __repr__(self) -> str:
        return f"<'{self.name}', saved by the worker process>"


class _Channel:
    """The worker's end of its socket; sends from any thread, one message at a time."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self._lock = threading.Lock()

    def send(self, kind: str, payload: Any) -> None:
        frames = _wire.dumps(kind, payload)
        with self._lock:
            _wire.send_frames(self.conn, frames)

    def try_send(self, kind: str, payload: Any) -> None:
        with contextlib.suppress(Exception):  # the parent is gone, or it does not pickle
            self.send(kind, payload)


class _LogToParent(logging.Handler):
    """Sends each record to the parent, which logs it as its own."""

    def __init__(self, channel: _Channel) -> None:
        super().__init__(level=logging.DEBUG)
        self.channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            record.msg, record.args = record.getMessage(), None  # arguments may not pickle
            if record.exc_info:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
            self.channel.send("log", record)
        except Exception:
            self.handleError(record)


class _StreamToParent(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr`` of a worker: lines go to the parent's stream."""

    def __init__(self, channel: _Channel, name: str, fileno: int) -> None:
        self.channel = channel
        self.name = name
        self._fileno = fileno
        self._pending: list[str] = []
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:  # children and faulthandler use the real stream
        return self._fileno

    def isatty(self) -> bool:
        return False

    def write(self, text: str) -> int:
        with self._lock:
            self._pending.append(text)
            complete = "\n" in text
        if complete:
            self.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            text, self._pending = "".join(self._pending), []
        if text:
            self.channel.try_send("out", (self.name, text))


def _watch_parent(alive_fd: int) -> None:
    """Block until the parent's end of the liveness pipe closes, then kill this group."""
    while True:
        try:
            if not os.read(alive_fd, 1):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os.killpg(os.getpid(), signal.SIGKILL)


def _prepare(channel: _Channel, alive_fd: int) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
        signal.signal(signum, signal.SIG_DFL)
    threading.Thread(target=_watch_parent, args=(alive_fd,), name="pipeloop-watchdog",
                     daemon=True).start()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the worker's stdin for its whole life
    sys.stdout = _StreamToParent(channel, "stdout", 1)
    sys.stderr = _StreamToParent(channel, "stderr", 2)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_LogToParent(channel))


def serve(fd: int, alive_fd: int) -> NoReturn:
    """The worker's life: announce itself, then run one task after another until the
    parent says ``exit`` or goes away."""
    channel = _Channel(Connection(fd))
    _prepare(channel, alive_fd)
    try:
        channel.send("hello", os.getpid())
    except OSError:  # the start was cancelled: nobody waits for this worker
        os._exit(0)
    while True:
        try:
            frames = _wire.recv_frames(channel.conn)
        except (EOFError, OSError):
            os._exit(0)
        try:
            kind, payload = _wire.loads(*frames)
        except Exception as exc:  # e.g. the node's module cannot be imported here
            channel.send("error", describe(exc))
            continue
        if kind == "exit":
            os._exit(0)
        del frames
        task = list(payload)
        del payload  # the node's inputs are then freed as soon as it returns
        kind, result = _run_task(task)
        _flush_streams()
        try:
            channel.send(kind, result)
        except Exception as exc:
            channel.send("error", describe(_unsendable(exc)))


def _flush_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _unsendable(exc: Exception) -> Exception:
    from pipeloop.errors import RunnerError

    return RunnerError("ParallelRunner: the outputs of a node could not be sent back from "
                       f"its worker process because they cannot be pickled: {exc!r}.")


def _run_task(task: list[Any]) -> tuple[str, Any]:
    """Run one ``[node, inputs, options]`` task (the list is emptied, so that only this
    frame holds the inputs)."""
    node, inputs, options = task
    task.clear()
    logging.getLogger().setLevel(options.get("log_level", logging.DEBUG))
    try:
        to_load = {name: value for name, value in inputs.items()
                   if isinstance(value, LoadHere)}
        concurrent = options.get("concurrent_io", True)
        if to_load:
            inputs = {**inputs, **_load_here(to_load, concurrent)}
        outputs = node.run(inputs)
        del inputs
        to_save = {name: dataset for name, dataset in options.get("save", {}).items()
                   if name in outputs}
        if to_save:
            _save_here(node, outputs, to_save, concurrent)
            outputs = {name: SavedThere(name) if name in to_save else data
                       for name, data in outputs.items()}
    except Exception as exc:
        return "error", describe(exc)
    return "done", outputs


def _load_here(pending: dict[str, LoadHere], concurrent: bool) -> dict[str, Any]:
    import anyio

    from pipeloop.engine.runners._local_io import load_all

    return anyio.run(load_all, {name: marker.dataset for name, marker in pending.items()},
                     concurrent)


def _save_here(node: Any, outputs: dict[str, Any], datasets: dict[str, Any],
               concurrent: bool) -> None:
    import anyio

    from pipeloop.engine.runners._local_io import save_all

    anyio.run(save_all, node, {name: (datasets[name], outputs[name]) for name in datasets},
              concurrent)
