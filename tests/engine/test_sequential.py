"""``SequentialRunner``: one node at a time, plain functions inline on the event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import anyio
import pytest

from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, node
from pipeloop.testing import RecordingHooks


def assign(value: Any) -> MemoryDataset:
    return MemoryDataset(value, copy_mode="assign")


def on_the_loop(x: int) -> bool:
    """True when called from a coroutine running on this thread's event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def test_plain_functions_run_inline_on_the_event_loop() -> None:
    pipeline = Pipeline([node(on_the_loop, "x", "inline", name="probe")])
    result = await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert result == {"inline": True}


async def count_active(state: dict[str, int], x: int) -> int:
    state["active"] += 1
    state["peak"] = max(state["peak"], state["active"])
    await anyio.sleep(0.01)
    state["active"] -= 1
    return x


async def test_one_node_at_a_time_even_for_async_nodes() -> None:
    state = {"active": 0, "peak": 0}
    pipeline = Pipeline([
        node(count_active, ["state", "x"], f"out{i}", name=f"n{i}") for i in range(5)
    ])
    catalog = DataCatalog({"state": assign(state), "x": MemoryDataset(1)})
    result = await SequentialRunner().run(pipeline, catalog)
    assert result == {f"out{i}": 1 for i in range(5)}
    assert state["peak"] == 1


def wait_for_ticks(ticked: threading.Event, x: int) -> bool:
    return ticked.wait(0.3)


async def test_a_blocking_node_blocks_the_loop() -> None:
    """The documented trade-off: use ThreadRunner(max_workers=1) to keep the loop free."""
    ticked = threading.Event()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1
            if ticks >= 3:
                ticked.set()

    pipeline = Pipeline([node(wait_for_ticks, ["ticked", "x"], "seen", name="blocker")])
    catalog = DataCatalog({"ticked": assign(ticked), "x": MemoryDataset(1)})
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        await anyio.sleep(0)  # let the ticker start
        result = await SequentialRunner().run(pipeline, catalog)
        group.cancel_scope.cancel()
    assert result == {"seen": False}


def identity(x: Any) -> Any:
    return x


async def test_runs_in_pipeline_order_with_data_flowing_through() -> None:
    hooks = RecordingHooks()
    pipeline = Pipeline([
        node(identity, "x", "a", name="first"),
        node(identity, "a", "b", name="second"),
        node(identity, "b", "c", name="third"),
    ])
    result = await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset([1])}),
                                          hooks=[hooks])
    assert result == {"c": [1]}
    assert [c.subject for c in hooks.named("before_node_run")] == ["first", "second", "third"]


def test_max_concurrent_nodes_is_one() -> None:
    assert SequentialRunner().max_concurrent_nodes == 1


@pytest.mark.parametrize("is_async", [True, False])
def test_is_async_is_kept(is_async: bool) -> None:
    assert SequentialRunner(is_async=is_async).is_async is is_async
