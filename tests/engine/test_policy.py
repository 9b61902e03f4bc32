"""The policy seam: a custom local policy is a runner with one ``execute`` method."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

from pipeloop import AbstractRunner, DataCatalog, MemoryDataset, Node, Pipeline, node


class ExecutorRunner(AbstractRunner):
    """Runs plain nodes in an executor the user passes in (the ~15-line policy)."""

    def __init__(self, executor: Executor, *, max_nodes: int | None = None) -> None:
        super().__init__()
        self.executor = executor
        self.max_nodes = max_nodes

    @property
    def max_concurrent_nodes(self) -> int | None:
        return self.max_nodes

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        future = self.executor.submit(node.run, inputs)
        return await asyncio.wrap_future(future)


def where(x: int) -> str:
    return threading.current_thread().name


async def on_loop(x: int) -> str:
    return threading.current_thread().name


async def test_custom_policy_runs_plain_nodes_in_the_given_executor() -> None:
    pipe = Pipeline([node(where, "x", "a", name="a"), node(where, "x", "b", name="b"),
                     node(on_loop, "x", "c", name="c")])
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="mine") as pool:
        result = await ExecutorRunner(pool).run(pipe, DataCatalog({"x": MemoryDataset(1)}))
    assert result["a"].startswith("mine") and result["b"].startswith("mine")
    # async def nodes stay on the event loop; the policy only sees plain ones.
    assert result["c"] == threading.current_thread().name


async def test_custom_policy_limits_concurrency() -> None:
    running = 0
    peak = 0
    lock = threading.Lock()
    gate = threading.Event()

    def track(x: int) -> int:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        gate.wait(0.05)
        with lock:
            running -= 1
        return x

    pipe = Pipeline([node(track, "x", f"o{i}", name=f"n{i}") for i in range(4)])
    with ThreadPoolExecutor(max_workers=4) as pool:
        result = await ExecutorRunner(pool, max_nodes=1).run(
            pipe, DataCatalog({"x": MemoryDataset(1)}))
    assert result == {f"o{i}": 1 for i in range(4)}
    assert peak == 1
