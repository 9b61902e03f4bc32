"""The zygote of a ``ParallelRunner`` pool: a single-threaded process, with the project's
node modules already imported, that forks the pool's workers on request.

It is either forked from the parent while the parent still has a single thread (it then
holds everything the parent imported), or a fresh interpreter that prepares itself as
multiprocessing's ``spawn`` does (the parent's ``sys.path``, working folder and main
module) and imports the modules the parent names. Forking a worker from it takes
milliseconds, and the worker starts with those modules imported.

The zygote talks to the parent on a ``SOCK_SEQPACKET`` socket; each message is one pickled
tuple. From the parent: ``("fork", None)`` with the worker's socket passed along
(``SCM_RIGHTS``), ``("import", [module, ...])``, ``("exit", None)``. To the parent:
``("ready", pid)``, ``("failed", traceback_text)``, ``("reaped", (pid, status))`` for each
worker that ended. When the parent dies (its end of the liveness pipe closes) or asks it
to exit, the zygote kills the process group of every worker and exits.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import os
import pickle
import select
import signal
import socket
import sys
import traceback
from typing import Any, NoReturn

from pipeloop.engine.runners import _worker

__all__ = ["MAX_MESSAGE", "fork_from_parent", "main"]

#: The largest control message (a list of module names fits many times over).
MAX_MESSAGE = 1 << 20


def main() -> NoReturn:
    """Entry point of a fresh-interpreter zygote: ``argv`` holds the control socket's fd
    and the liveness pipe's read end; the first message prepares the interpreter."""
    control = socket.socket(fileno=int(sys.argv[1]))
    alive_fd = int(sys.argv[2])
    try:
        message = control.recv(MAX_MESSAGE)
        if not message:
            os._exit(0)
        _, (preparation, modules) = pickle.loads(message)
        _prepare(preparation)
        _import(modules, strict=False)
    except BaseException:
        _send(control, "failed", traceback.format_exc())
        os._exit(1)
    _serve(control, alive_fd)


def fork_from_parent(control: socket.socket, alive_fd: int) -> int:
    """Fork the zygote from this (single-threaded) process; return its pid here.

    The child keeps only the two descriptors it needs and stdin/stdout/stderr; every other
    inherited descriptor is pointed at ``/dev/null``, so the parent's sockets and pipes
    are not held open (and a stale object closing its number closes nothing of ours).
    """
    pid = os.fork()
    if pid:
        return pid
    try:
        os.setpgid(0, 0)
        _detach(keep={0, 1, 2, control.fileno(), alive_fd})
        gc.freeze()  # what the parent left is never collected (nor closed) here
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        _serve(control, alive_fd)
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(1)


def _detach(keep: set[int]) -> None:
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    for name in os.listdir("/proc/self/fd") if os.path.isdir("/proc/self/fd") else ():
        fd = int(name)
        if fd not in keep and fd != null:
            with contextlib.suppress(OSError):
                os.dup2(null, fd)
    os.close(null)


def _prepare(preparation: dict[str, Any]) -> None:
    """Become like the parent: its ``sys.path``, folder and main module (as ``spawn``)."""
    import multiprocessing.process
    import multiprocessing.spawn

    process = multiprocessing.process.current_process()
    process._inheriting = True  # type: ignore[attr-defined]  # a pool started now is refused
    try:
        multiprocessing.spawn.prepare(preparation)
    finally:
        process._inheriting = False  # type: ignore[attr-defined]


def _import(modules: list[str], *, strict: bool) -> None:
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:
            if strict:
                raise
            # The worker that unpickles the node imports it again and reports the error.


def _send(control: socket.socket, kind: str, payload: Any) -> None:
    with contextlib.suppress(OSError):
        control.send(pickle.dumps((kind, payload)))


def _serve(control: socket.socket, alive_fd: int) -> NoReturn:
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    workers: set[int] = set()

    def reap() -> None:
        while workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if not pid:
                return
            workers.discard(pid)
            _send(control, "reaped", (pid, status))

    def end() -> NoReturn:
        for pid in workers:
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        for pid in workers:
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
        os._exit(0)

    def fork(fd: int) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                os.setpgid(0, 0)
                signal.set_wakeup_fd(-1)
                os.close(wake_r)
                os.close(wake_w)
                control.close()
                _worker.serve(fd, alive_fd)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)
        os.close(fd)
        workers.add(pid)

    _send(control, "ready", os.getpid())
    while True:
        try:
            readable, _, _ = select.select([control.fileno(), alive_fd, wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in readable:
            with contextlib.suppress(OSError):
                os.read(wake_r, 4096)
            reap()
        if alive_fd in readable and not os.read(alive_fd, 1):
            end()
        if control.fileno() in readable:
            try:
                message, fds, _, _ = socket.recv_fds(control, MAX_MESSAGE, 1)
            except OSError:
                end()
            if not message:
                end()
            kind, payload = pickle.loads(message)
            if kind == "fork" and fds:
                fork(fds[0])
            elif kind == "import":
                _import(payload, strict=False)
            elif kind == "exit":
                end()
            for fd in fds[1:]:
                os.close(fd)
        reap()
