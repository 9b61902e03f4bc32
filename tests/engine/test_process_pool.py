"""The process pool behind ``ParallelRunner``: owned, shared, reclaimed, cancellable.

Each test learns the pids of a worker and of the zygote it was forked from (a node returns
``[os.getpid(), os.getppid()]``) and checks, by pid, that they are gone when the pool should
have ended them. Waits are bounded generously: they only guard against a hang.
"""

from __future__ import annotations

import os
import threading
import time
from multiprocessing.connection import Connection
from pathlib import Path

import anyio
import pytest
from child_processes import gone, wait_gone
from process_gated_nodes import pids

from pipeloop import DataCatalog, MemoryDataset, ParallelRunner, Pipeline, node
from pipeloop.engine.runners import _pool, _wire

SAFETY = 30.0


PIDS = Pipeline([node(pids, "x", "pids", name="pids")])


def catalog() -> DataCatalog:
    return DataCatalog({"x": MemoryDataset(0)})


@pytest.fixture(params=["fork", "exec"])
def zygote_start(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways a zygote starts: forked from this process, or a fresh interpreter."""
    monkeypatch.setattr(_pool, "ZYGOTE_START", request.param)
    return str(request.param)


async def test_workers_are_forked_from_a_zygote_and_reused(zygote_start: str) -> None:
    async with ParallelRunner(max_workers=1) as runner:
        first = (await runner.run(PIDS, catalog()))["pids"]
        again = (await runner.run(PIDS, catalog()))["pids"]
    worker, zygote = first
    assert again == first
    assert zygote not in (os.getpid(), worker)


async def test_closing_the_runner_ends_its_pool(zygote_start: str) -> None:
    async with ParallelRunner(max_workers=1) as runner:
        worker, zygote = (await runner.run(PIDS, catalog()))["pids"]
        assert not gone(worker) and not gone(zygote)
    assert await anyio.to_thread.run_sync(wait_gone, worker, zygote)
    # The runner stays usable: a new pool starts.
    again = ParallelRunner(max_workers=1)
    new_worker, _ = (await again.run(PIDS, catalog()))["pids"]
    assert new_worker != worker
    again.close()
    assert await anyio.to_thread.run_sync(wait_gone, new_worker)


def test_the_end_of_the_event_loop_ends_the_pool() -> None:
    worker, zygote = ParallelRunner(max_workers=1).run_sync(PIDS, catalog())["pids"]
    assert wait_gone(worker, zygote)


async def test_idle_workers_and_then_the_zygote_are_reclaimed() -> None:
    runner = ParallelRunner(max_workers=1, idle_timeout=0.2)
    worker, zygote = (await runner.run(PIDS, catalog()))["pids"]
    # Nothing closes the runner and the loop keeps running: the idle timeout alone acts.
    assert await anyio.to_thread.run_sync(wait_gone, worker, zygote)
    assert (await runner.run(PIDS, catalog()))["pids"][0] != worker


async def test_runners_of_one_loop_share_a_capped_pool() -> None:
    seen = set()
    runners = [ParallelRunner(max_workers=2) for _ in range(10)]  # e.g. one per request
    try:
        for runner in runners:
            seen.add(tuple((await runner.run(PIDS, catalog()))["pids"]))
        assert len(seen) <= 2, f"more workers than the largest max_workers: {seen}"
    finally:
        for runner in runners:
            runner.close()
    assert await anyio.to_thread.run_sync(wait_gone, *[pid for pair in seen for pid in pair])


async def test_a_deadline_while_the_zygote_starts_ends_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A fresh-interpreter zygote whose import of the node module waits for the test.
    monkeypatch.setattr(_pool, "ZYGOTE_START", "exec")
    monkeypatch.setenv("PIPELOOP_TEST_IMPORT_GATE", str(tmp_path))
    runner = ParallelRunner(max_workers=1)
    started = time.monotonic()
    with anyio.move_on_after(1) as scope:
        await runner.run(PIDS, catalog())
    elapsed = time.monotonic() - started
    assert scope.cancelled_caught
    assert elapsed < SAFETY / 2, f"the run ignored its deadline for {elapsed:.1f} s"
    importer = tmp_path / "importer"
    if importer.exists():  # the zygote got as far as importing the module
        assert await anyio.to_thread.run_sync(wait_gone, int(importer.read_text()))
    (tmp_path / "open").touch()
    monkeypatch.delenv("PIPELOOP_TEST_IMPORT_GATE")
    worker, _ = (await runner.run(PIDS, catalog()))["pids"]  # a later run starts afresh
    runner.close()
    assert await anyio.to_thread.run_sync(wait_gone, worker)


def test_idle_timeout_is_checked() -> None:
    from pipeloop.errors import RunnerError

    with pytest.raises(RunnerError, match="idle_timeout"):
        ParallelRunner(idle_timeout=-1)


async def test_a_zygote_that_cannot_import_the_main_module_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pipeloop.errors import RunnerError

    monkeypatch.setattr(_pool, "ZYGOTE_START", "exec")
    monkeypatch.setattr(_pool.multiprocessing.spawn, "get_preparation_data",
                        lambda name: {"init_main_from_path": str(tmp_path / "missing.py")})
    with pytest.raises(RunnerError, match="could not start"):
        await ParallelRunner(max_workers=1).run(PIDS, catalog())


class _PausedInClose(Connection):
    """A connection whose close pauses once it has taken its number, before it forgets
    it (as ``os.close`` lets other threads run there), until ``resume`` is set: a second
    close arriving meanwhile would close the number again."""

    closers: list[str]
    resume: threading.Event

    def _close(self) -> None:
        handle = self._handle  # type: ignore[attr-defined]
        self.closers.append(threading.current_thread().name)
        self.resume.wait(timeout=1.0)  # bounded: a correct pool makes the loop wait here
        os.close(handle)


async def test_a_killed_worker_s_connection_is_closed_once_when_both_sides_let_go() -> None:
    # A run cancelled while a thread waits on its worker: the thread's exchange ends as
    # the loop forgets the worker. Only one of them may close the connection; the second
    # close of its number failed with EBADF (or closed a file another thread had opened).
    async with ParallelRunner(max_workers=1) as runner:
        await runner.run(PIDS, catalog())
        pool = _pool.pool_for_this_loop()
        worker = await pool.acquire(["process_gated_nodes"])
        worker.conn.__class__ = _PausedInClose
        worker.conn.closers, worker.conn.resume = [], threading.Event()
        worker.kill()
        errors: list[BaseException] = []

        def exchange() -> None:
            try:
                worker.exchange(lambda: _wire.dumps("run", None), lambda *_: None)
            except BaseException as exc:
                errors.append(exc)

        waiting = threading.Thread(target=exchange, name="exchange")
        waiting.start()
        deadline = time.monotonic() + SAFETY
        while not worker.conn.closers and time.monotonic() < deadline:
            await anyio.sleep(0.01)
        assert worker.conn.closers == ["exchange"], "the exchange did not end on a kill"
        pool.release(worker)  # the loop lets go while the thread is still closing
        worker.conn.resume.set()
        await anyio.to_thread.run_sync(waiting.join, SAFETY)
        assert worker.conn.closers == ["exchange"]
        assert [type(error) for error in errors] == [_pool.WorkerDied]
        assert worker.conn.closed
