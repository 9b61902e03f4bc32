"""``ThreadRunner``: plain functions in worker threads; the event loop stays free.

Blocking nodes here wait on ``threading`` primitives the test controls (with a generous
safety timeout), so each test proves an ordering rather than measuring time.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import anyio.to_thread
import pytest

from pipeloop import DataCatalog, MemoryDataset, Pipeline, RunReport, ThreadRunner, node
from pipeloop.engine.runners.thread import DEFAULT_GRACE_PERIOD
from pipeloop.errors import NodeExitError, NodeTimeoutError, RunnerError
from pipeloop.testing import RecordingHooks

SAFETY = 30  # seconds a blocked node waits at most, so a bug fails instead of hanging


def assign(value: Any) -> MemoryDataset:
    return MemoryDataset(value, copy_mode="assign")


class Gate:
    """Controls a blocking node: ``started`` when it runs, ``release`` to let it go,
    ``done`` once it returned."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()

    async def wait_started(self) -> None:
        assert await anyio.to_thread.run_sync(self.started.wait, SAFETY)

    async def wait_done(self) -> None:
        assert await anyio.to_thread.run_sync(self.done.wait, SAFETY)


def blocking(gate: Gate, x: int) -> int:
    gate.started.set()
    gate.release.wait(SAFETY)
    gate.done.set()
    return x


def fail(*inputs: Any) -> Any:
    raise ValueError("failed while another node was blocked")


def record_child(log: list[str], *inputs: Any) -> int:
    log.append("child ran")
    return 1


async def test_loop_stays_responsive_while_sync_nodes_block() -> None:
    ticks = 0
    enough = threading.Event()

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1
            if ticks >= 5:
                enough.set()

    def wait_for_ticks(x: int) -> bool:
        return enough.wait(SAFETY)

    pipeline = Pipeline([node(wait_for_ticks, "x", f"seen{i}", name=f"block{i}")
                         for i in range(3)])
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        result = await ThreadRunner(max_workers=3).run(pipeline,
                                                       DataCatalog({"x": MemoryDataset(1)}))
        group.cancel_scope.cancel()
    assert result == {"seen0": True, "seen1": True, "seen2": True}
    assert ticks >= 5


def meet(barrier: threading.Barrier, x: int) -> int:
    barrier.wait(SAFETY)  # raises BrokenBarrierError unless both nodes run at once
    return x


async def test_sync_nodes_run_in_parallel_threads() -> None:
    barrier = threading.Barrier(2)
    pipeline = Pipeline([node(meet, ["barrier", "x"], "a", name="one"),
                         node(meet, ["barrier", "x"], "b", name="two")])
    catalog = DataCatalog({"barrier": assign(barrier), "x": MemoryDataset(7)})
    assert await ThreadRunner(max_workers=2).run(pipeline, catalog) == {"a": 7, "b": 7}


def count_threads(state: dict[str, Any], x: int) -> int:
    with state["lock"]:
        state["active"] += 1
        state["peak"] = max(state["peak"], state["active"])
    state["barrier"].wait(SAFETY)
    threading.Event().wait(0.05)  # give a third thread the chance to enter, were it allowed
    with state["lock"]:
        state["active"] -= 1
    return x


async def test_max_workers_caps_the_threads() -> None:
    state = {"lock": threading.Lock(), "active": 0, "peak": 0, "barrier": threading.Barrier(2)}
    pipeline = Pipeline([node(count_threads, ["state", "x"], f"o{i}", name=f"n{i}")
                         for i in range(4)])
    catalog = DataCatalog({"state": assign(state), "x": MemoryDataset(1)})
    result = await ThreadRunner(max_workers=2).run(pipeline, catalog)
    assert len(result) == 4
    assert state["peak"] == 2


async def rendezvous(state: dict[str, Any], x: int) -> int:
    state["arrived"] += 1
    if state["arrived"] == state["expected"]:
        state["all_here"].set()
    await state["all_here"].wait()
    return x


async def test_async_nodes_take_no_thread_and_all_run_at_once() -> None:
    """Twenty async nodes that each wait for all the others finish with two worker threads
    (with one, ThreadRunner keeps the sequential order, so they could never meet)."""
    state = {"arrived": 0, "expected": 20, "all_here": anyio.Event()}
    pipeline = Pipeline([node(rendezvous, ["state", "x"], f"o{i}", name=f"n{i}")
                         for i in range(20)])
    catalog = DataCatalog({"state": assign(state), "x": MemoryDataset(1)})
    result = await ThreadRunner(max_workers=2).run(pipeline, catalog)
    assert len(result) == 20


async def test_cancelled_run_returns_while_the_thread_still_runs() -> None:
    gate = Gate()
    before = asyncio.all_tasks()
    pipeline = Pipeline([node(blocking, ["gate", "x"], "out", name="blocked")])
    catalog = DataCatalog({"gate": assign(gate), "x": MemoryDataset(1)})
    async with anyio.create_task_group() as group:
        group.start_soon(ThreadRunner().run, pipeline, catalog)
        await gate.wait_started()
        group.cancel_scope.cancel()
    # The run is over although its thread is still blocked ...
    assert not gate.done.is_set()
    assert asyncio.all_tasks() == before
    # ... and the thread finishes in the background once released.
    gate.release.set()
    await gate.wait_done()


async def test_failure_returns_while_a_thread_is_blocked_and_its_child_never_runs() -> None:
    gate, log = Gate(), []
    hooks = RecordingHooks()
    pipeline = Pipeline([
        node(blocking, ["gate", "x"], "b", name="blocked"),
        node(record_child, ["log", "b"], "c", name="child"),
        node(fail, "started", "f", name="failer"),
    ])
    catalog = DataCatalog({"gate": assign(gate), "x": MemoryDataset(1), "log": assign(log),
                           "started": StartedWhenBlocked(gate)})
    with pytest.raises(ValueError, match="another node was blocked"):
        await ThreadRunner().run(pipeline, catalog, hooks=[hooks])
    assert not gate.done.is_set()
    gate.release.set()
    await gate.wait_done()
    await anyio.sleep(0.05)  # any late wake-up of the child would happen now
    assert log == []
    assert "child" not in {c.subject for c in hooks.named("before_node_run")}


class StartedWhenBlocked(MemoryDataset):
    """An input that is ready only once the gate's node has started (so the failing node
    fails while the other one is blocked in its thread)."""

    instant = False

    def __init__(self, gate: Gate) -> None:
        super().__init__(True)
        self.gate = gate

    async def _load(self) -> Any:
        await anyio.to_thread.run_sync(self.gate.started.wait, SAFETY)
        return await super()._load()


async def test_timeout_of_a_sync_node_fails_at_the_deadline() -> None:
    gate = Gate()
    pipeline = Pipeline([node(blocking, ["gate", "x"], "out", name="stuck", timeout=0.1)])
    catalog = DataCatalog({"gate": assign(gate), "x": MemoryDataset(1)})
    with pytest.raises(NodeTimeoutError) as caught:
        await ThreadRunner().run(pipeline, catalog)
    message = str(caught.value)
    assert "Node 'stuck' did not finish within its timeout of 0.1 s." in message
    assert "thread cannot be interrupted and finishes in the background" in message
    assert gate.started.is_set() and not gate.done.is_set()
    gate.release.set()
    await gate.wait_done()


def test_default_max_workers_is_like_concurrent_futures() -> None:
    import os

    assert ThreadRunner().max_workers == min(32, (os.cpu_count() or 1) + 4)
    assert ThreadRunner().max_concurrent_nodes is None


def _pool_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pipeloop-thread")]


def test_close_ends_the_pool_threads_and_the_runner_still_works() -> None:
    pipeline = Pipeline([node(_double, "x", "y", name="double")])
    catalog = DataCatalog({"x": MemoryDataset(21)})
    before = set(_pool_threads())
    with ThreadRunner(max_workers=2) as runner:
        assert runner.run_sync(pipeline, catalog) == {"y": 42}
        mine = set(_pool_threads()) - before
        assert mine
    for thread in mine:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in mine)
    # A closed runner starts a new pool when used again.
    assert runner.run_sync(pipeline, catalog) == {"y": 42}
    runner.close()


def _double(x: int) -> int:
    return 2 * x


def quits(x: int) -> int:
    raise SystemExit(2)


async def test_a_node_exiting_in_a_thread_fails_without_retry_and_the_app_goes_on() -> None:
    report = RunReport()
    pipeline = Pipeline([node(quits, "x", "y", name="quits", retries=3)])
    with pytest.raises(NodeExitError, match="Node 'quits' raised SystemExit\\(2\\)"):
        await ThreadRunner().run(pipeline, DataCatalog({"x": MemoryDataset(1)}),
                                 report=report)
    assert report.failed_nodes == ["quits"]
    assert report.timings["quits"].attempts == 1


@pytest.mark.parametrize("grace_period", [-1, "5", True])
def test_grace_period_must_be_seconds(grace_period: object) -> None:
    with pytest.raises(RunnerError, match="grace_period must be a number of seconds"):
        ThreadRunner(grace_period=grace_period)  # type: ignore[arg-type]


def test_grace_period_defaults_to_a_few_seconds_and_shows_when_changed() -> None:
    assert ThreadRunner().grace_period == DEFAULT_GRACE_PERIOD == 5.0
    assert repr(ThreadRunner(max_workers=2, grace_period=30)) == (
        "ThreadRunner(max_workers=2, is_async=True, grace_period=30)")
