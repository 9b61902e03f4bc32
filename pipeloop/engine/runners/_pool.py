"""The process pool of ``ParallelRunner``: one per event loop, shared by every runner used
in it, owned and reaped.

- **One zygote, many workers.** Workers are forked from the pool's zygote (see
  :mod:`._zygote`), which has the node modules imported, so they start in milliseconds.
- **Capped and shared.** The pool holds at most as many workers as the largest
  ``max_workers`` of the runners attached to it, however many runners an app makes.
- **Reclaimed.** A worker idle for the runners' ``idle_timeout`` is ended; so is the zygote
  once no worker is left. Closing the last attached runner, or the end of the event loop,
  ends every process of the pool at once.
- **Cancellable.** Starting the zygote or a worker happens in the caller's task: a
  deadline that expires meanwhile kills what was being started.
- **Tied to this process.** Each pool process watches a liveness pipe whose write end only
  this process holds: when this process dies, for any reason, the zygote and every worker
  kill their process groups (a node's children with them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing.process
import multiprocessing.spawn
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from multiprocessing.connection import Connection
from typing import Any, Protocol

import anyio
from anyio.lowlevel import RunVar

import pipeloop
from pipeloop.engine.runners import _wire
from pipeloop.engine.runners._zygote import MAX_MESSAGE, fork_from_parent
from pipeloop.errors import RunnerError

__all__ = ["NotSent", "Worker", "WorkerDied", "WorkerPool", "pool_for_this_loop"]

logger = logging.getLogger("pipeloop.runner")

#: Seconds the zygote or a worker may take to start before the run gives up on it.
START_TIMEOUT = 60.0
#: How long a closing pool waits for its zygote to end its workers and exit.
_CLOSE_TIMEOUT = 5.0
#: "auto" forks the zygote from this process while it has a single thread, else starts a
#: fresh interpreter; "fork" and "exec" force one way (tests use them).
ZYGOTE_START = os.environ.get("PIPELOOP_ZYGOTE_START", "auto")


class Member(Protocol):
    """What the pool needs of a runner attached to it."""

    max_workers: int
    idle_timeout: float


class WorkerDied(Exception):
    """A worker's socket closed while it ran a task: it crashed or was killed."""


class NotSent(Exception):
    """A task could not be pickled: the worker never saw it (and stays usable)."""

    def __init__(self, error: Exception) -> None:
        super().__init__(error)
        self.error = error


class _Zygote:
    """This process's handle on a zygote: its control socket, liveness pipe and pid."""

    def __init__(self, pid: int, control: socket.socket, alive_w: int,
                 process: subprocess.Popen[bytes] | None) -> None:
        self.pid = pid
        self.control = control
        self.alive_w = alive_w
        self.process = process
        self.ended: dict[int, int] = {}  # worker pid -> wait status, as the zygote reaped it
        self.waiters: dict[int, anyio.Event] = {}
        self.gone = False
        self.sent_modules: set[str] = set()
        self.idle_since = time.monotonic()

    def send(self, kind: str, payload: Any, fds: Iterable[int] = ()) -> None:
        socket.send_fds(self.control, [pickle.dumps((kind, payload))], list(fds))

    def close(self) -> None:
        """Ask the zygote to end its workers and exit; wait (bounded) and reap it."""
        if self.gone:
            return
        self.gone = True
        for event in self.waiters.values():
            event.set()
        with contextlib.suppress(OSError):
            self.control.shutdown(socket.SHUT_RDWR)
        self.control.close()
        with contextlib.suppress(OSError):
            os.close(self.alive_w)
        deadline = time.monotonic() + _CLOSE_TIMEOUT
        while not self._reaped():
            if time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    os.killpg(self.pid, signal.SIGKILL)
                self._reaped(block=True)
                break
            time.sleep(0.002)

    def kill(self) -> None:
        """End a zygote that never became ready."""
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)
        self.close()

    def _reaped(self, block: bool = False) -> bool:
        if self.process is not None:
            if block:
                self.process.wait()
            return self.process.poll() is not None
        try:
            pid, _ = os.waitpid(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return True
        return pid != 0


class Worker:
    """This process's handle on one worker process."""

    def __init__(self, pid: int, sock: socket.socket, conn: Connection, zygote: _Zygote) -> None:
        self.pid = pid
        self.sock = sock
        self.conn = conn
        self.zygote = zygote
        self.dead = False
        self.busy = False  # a thread is using the connection (it closes it if need be)
        # Guards ``busy`` and closing ``conn``: the thread of an abandoned exchange and the
        # loop may both let go of a killed worker at once, and the close releases the GIL
        # before the connection forgets its number; closed twice, the number may already
        # be a file another thread just opened.
        self._closing = threading.Lock()
        self.idle_since = time.monotonic()

    def exchange(self, frames: Callable[[], _wire.Frames],
                 on_message: Callable[[str, Any], None]) -> tuple[str, Any]:
        """In a thread: send one task, pass what the worker logs and prints to
        ``on_message`` as it comes, and return the worker's answer.

        Raises:
            WorkerDied: the worker's socket closed first.
        """
        try:
            message = frames()
        except Exception as exc:
            raise NotSent(exc) from None
        with self._closing:
            self.busy = True
        try:
            _wire.send_frames(self.conn, message)
            del message
            while True:
                kind, payload = _wire.recv(self.conn)
                if kind in ("log", "out"):
                    on_message(kind, payload)
                    continue
                return kind, payload
        except (EOFError, OSError) as exc:
            self.dead = True
            raise WorkerDied(str(exc)) from None
        finally:
            with self._closing:
                self.busy = False
                if self.dead:
                    self.conn.close()

    def close_connection(self) -> None:
        """Close the socket to the worker, unless a thread is still using it: that thread
        closes it when it returns, since a forgotten worker is dead."""
        with self._closing:
            if not self.busy:
                self.conn.close()

    def kill(self) -> None:
        """Kill the worker's process group (its node's children too); wakes any thread
        blocked on its socket."""
        if not self.dead:
            self.dead = True
        with contextlib.suppress(OSError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    @property
    def exit_status(self) -> int | None:
        """The worker's wait status, once the zygote reaped it."""
        return self.zygote.ended.get(self.pid)


class WorkerPool:
    """The processes of one event loop's ``ParallelRunner`` s (see the module docs)."""

    def __init__(self) -> None:
        self.members: weakref.WeakSet[Member] = weakref.WeakSet()
        self.zygote: _Zygote | None = None
        self.idle: list[Worker] = []
        self.live = 0  # workers alive or starting
        self.closed = False
        self._zygote_lock = anyio.Lock()
        self._changed = anyio.Event()
        self._zygote_ready = anyio.Event()
        # Threads that wait on workers have their own tokens, not those of dataset I/O.
        self.io_limiter = anyio.CapacityLimiter(1)
        self._owner: Any = None

    # -- membership -------------------------------------------------------------------------

    @property
    def cap(self) -> int:
        return max((member.max_workers for member in self.members), default=1)

    @property
    def idle_timeout(self) -> float:
        return min((member.idle_timeout for member in self.members), default=10.0)

    def attach(self, member: Member) -> None:
        self.members.add(member)
        self.io_limiter.total_tokens = max(self.cap + 1, self.io_limiter.total_tokens)

    def detach(self, member: Member) -> None:
        """``member`` closed: the pool ends when no runner is attached to it."""
        self.members.discard(member)
        if not self.members:
            self.close()

    # -- workers ----------------------------------------------------------------------------

    async def acquire(self, modules: Iterable[str]) -> Worker:
        """An idle worker, or a new one while the pool is below its cap; waits otherwise.

        Raises:
            RunnerError: the zygote or the worker could not start.
        """
        while True:
            if self.closed:
                raise RunnerError("ParallelRunner: its process pool was closed.")
            while self.idle:
                worker = self.idle.pop()
                if not worker.dead and worker.exit_status is None and not worker.zygote.gone:
                    return worker
                self._forget(worker)
            if self.live < self.cap:
                self.live += 1
                try:
                    zygote = await self._ready_zygote(modules)
                    return await self._fork(zygote)
                except BaseException:
                    self.live -= 1
                    self._notify()
                    raise
            changed = self._changed
            await changed.wait()

    def release(self, worker: Worker) -> None:
        """Give ``worker`` back after a task (a dead one is forgotten)."""
        if worker.dead or self.closed:
            worker.kill()
            self._forget(worker)
        else:
            worker.idle_since = time.monotonic()
            self.idle.append(worker)
        self._notify()

    async def warm(self, count: int, modules: Iterable[str]) -> None:
        """Have ``count`` workers ready (as far as the cap allows), all started at once."""
        modules = list(modules)
        spare = min(count - len(self.idle), self.cap - self.live)
        if spare <= 0:
            await self._ready_zygote(modules)
            return
        started: list[Worker] = []

        async def start() -> None:
            started.append(await self.acquire(modules))

        try:
            async with anyio.create_task_group() as group:
                for _ in range(spare):
                    group.start_soon(start)
        except BaseExceptionGroup as errors:
            first = errors.exceptions[0]
            while isinstance(first, BaseExceptionGroup):
                first = first.exceptions[0]
            raise first from None
        finally:
            for worker in started:
                self.release(worker)

    async def wait_ended(self, worker: Worker) -> None:
        """Wait (shielded, bounded) until the zygote reaped ``worker`` after a kill."""
        zygote = worker.zygote
        if worker.exit_status is not None or zygote.gone:
            return
        event = zygote.waiters.setdefault(worker.pid, anyio.Event())
        with anyio.move_on_after(_CLOSE_TIMEOUT, shield=True):
            await event.wait()

    def _forget(self, worker: Worker) -> None:
        if worker in self.idle:
            self.idle.remove(worker)
        if not getattr(worker, "_forgotten", False):
            worker._forgotten = True  # type: ignore[attr-defined]
            self.live -= 1
        with contextlib.suppress(OSError):
            worker.sock.close()
        worker.close_connection()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    async def _fork(self, zygote: _Zygote) -> Worker:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            zygote.send("fork", None, [theirs.fileno()])
        except OSError as exc:
            mine.close()
            zygote.gone = True
            raise RunnerError(f"ParallelRunner: the pool's zygote process is gone ({exc}).") \
                from None
        finally:
            theirs.close()
        conn = Connection(os.dup(mine.fileno()))
        try:
            with anyio.fail_after(START_TIMEOUT):
                await anyio.wait_readable(mine)
            _, pid = _wire.recv(conn)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                mine.shutdown(socket.SHUT_RDWR)
            mine.close()
            conn.close()
            if isinstance(exc, (EOFError, OSError, TimeoutError)):
                raise RunnerError(_start_failed(exc)) from None
            raise
        zygote.idle_since = time.monotonic()
        return Worker(pid, mine, conn, zygote)

    # -- the zygote -------------------------------------------------------------------------

    async def _ready_zygote(self, modules: Iterable[str]) -> _Zygote:
        modules = sorted(set(modules))
        async with self._zygote_lock:
            zygote = self.zygote
            if zygote is None or zygote.gone:
                zygote = self.zygote = await _start_zygote(modules)
                zygote.sent_modules.update(modules)
                self._own()
                self._zygote_ready.set()
        new = [name for name in modules if name not in zygote.sent_modules]
        if new:
            zygote.sent_modules.update(new)
            with contextlib.suppress(OSError):
                zygote.send("import", new)
        return zygote

    def _own(self) -> None:
        """Start the task that owns the pool's processes (once per pool)."""
        if self._owner is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - trio (the tests run asyncio)
            import trio  # type: ignore[import-not-found]

            trio.lowlevel.spawn_system_task(self._serve)
            self._owner = True
        else:
            self._owner = loop.create_task(self._serve(), name="pipeloop-process-pool")

    async def _serve(self) -> None:
        """Reads the zygote's notices, reclaims idle processes; at the end of the event loop
        (this task is cancelled then), ends every process of the pool."""
        try:
            while not self.closed:
                zygote = self.zygote
                interval = max(0.05, min(1.0, self.idle_timeout / 4))
                if zygote is None or zygote.gone:
                    with anyio.move_on_after(interval):
                        await self._zygote_ready.wait()
                    self._zygote_ready = anyio.Event()
                else:
                    with anyio.move_on_after(interval):
                        try:
                            await anyio.wait_readable(zygote.control)
                        except (anyio.ClosedResourceError, OSError):
                            continue  # closed meanwhile (idle, or its runner closed)
                        self._read_notices(zygote)
                self._reclaim()
        finally:
            self.close()

    def _read_notices(self, zygote: _Zygote) -> None:
        try:
            message = zygote.control.recv(MAX_MESSAGE)
        except OSError:
            message = b""
        if not message:
            zygote.close()
            return
        kind, payload = pickle.loads(message)
        if kind == "reaped":
            pid, status = payload
            zygote.ended[pid] = status
            event = zygote.waiters.pop(pid, None)
            if event is not None:
                event.set()

    def _reclaim(self) -> None:
        now = time.monotonic()
        timeout = self.idle_timeout
        for worker in [w for w in self.idle if now - w.idle_since > timeout]:
            worker.kill()
            self._forget(worker)
        zygote = self.zygote
        if (zygote is not None and not zygote.gone and self.live == 0
                and now - zygote.idle_since > timeout and not self._zygote_lock.locked()):
            self._close_zygote(zygote)

    def _close_zygote(self, zygote: _Zygote) -> None:
        with contextlib.suppress(Exception):
            anyio.notify_closing(zygote.control)
        zygote.close()
        if self.zygote is zygote:
            self.zygote = None

    def close(self) -> None:
        """End every process of the pool now (idempotent); usable from sync code."""
        for worker in list(self.idle):
            worker.kill()
            self._forget(worker)
        if self.zygote is not None:
            if not self.members:
                self.closed = True
            self._close_zygote(self.zygote)
        self._notify()


# -- one pool per event loop ---------------------------------------------------------------

_POOL: RunVar[WorkerPool] = RunVar("pipeloop_process_pool")


def pool_for_this_loop() -> WorkerPool:
    """The running event loop's pool (made on first use; a closed one is replaced)."""
    try:
        pool = _POOL.get()
    except LookupError:
        pool = None
    if pool is None or pool.closed:
        pool = WorkerPool()
        _POOL.set(pool)
    return pool


# -- starting a zygote ----------------------------------------------------------------------


def _single_threaded() -> bool:
    return threading.active_count() == 1


async def _start_zygote(modules: list[str]) -> _Zygote:
    """Start a zygote (forked from here when safe, else a fresh interpreter) and wait,
    cancellably, until it is ready.

    Raises:
        RunnerError: it could not start, or took over ``START_TIMEOUT``.
    """
    if getattr(multiprocessing.process.current_process(), "_inheriting", False):
        raise RunnerError(_GUARD_ADVICE)
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    alive_r, alive_w = os.pipe()
    process = None
    try:
        if ZYGOTE_START == "fork" or (ZYGOTE_START == "auto" and _single_threaded()):
            pid = fork_from_parent(theirs, alive_r)
        else:
            process = _exec_zygote(theirs, alive_r)
            pid = process.pid
        logger.debug("Started the process pool's zygote (pid %d, %s).", pid,
                     "a fresh interpreter" if process else "forked from this process")
    except BaseException:
        mine.close()
        os.close(alive_w)
        raise
    finally:
        theirs.close()
        os.close(alive_r)
    zygote = _Zygote(pid, mine, alive_w, process)
    try:
        if process is not None:
            preparation = multiprocessing.spawn.get_preparation_data("pipeloop-zygote")
            preparation.pop("authkey", None)
            zygote.send("prepare", (preparation, modules))
        with anyio.fail_after(START_TIMEOUT):
            await anyio.wait_readable(mine)
        message = mine.recv(MAX_MESSAGE)
        kind, payload = pickle.loads(message) if message else ("failed", "")
        if kind != "ready":
            logger.debug("The pool's zygote process failed to start:\n%s", payload)
            raise RunnerError(_start_failed(payload))
    except BaseException as exc:
        zygote.kill()
        if isinstance(exc, (OSError, TimeoutError)):
            raise RunnerError(_start_failed(exc)) from None
        raise
    return zygote


def _exec_zygote(control: socket.socket, alive_r: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    # The zygote must import this very pipeloop, wherever this process found it.
    here = os.path.dirname(os.path.dirname(os.path.abspath(pipeloop.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    code = "from pipeloop.engine.runners._zygote import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(control.fileno()), str(alive_r)],
        pass_fds=(control.fileno(), alive_r), stdin=subprocess.DEVNULL, env=env,
        process_group=0,
    )


_GUARD_ADVICE = (
    "ParallelRunner: a worker process could not start: importing the main module in the "
    "worker failed. If that module is a script that runs a pipeline, guard its entry point "
    "with `if __name__ == \"__main__\":`."
)


def _start_failed(reason: object) -> str:
    if isinstance(reason, TimeoutError):
        return f"ParallelRunner: a worker process did not start within {START_TIMEOUT:g} s."
    if isinstance(reason, str) and reason and "RunnerError" not in reason:
        last = reason.strip().splitlines()[-1]
        return f"{_GUARD_ADVICE} ({last})"
    return _GUARD_ADVICE
