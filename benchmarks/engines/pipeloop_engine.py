"""The pipeloop adapter: the public API only, as a user would write it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import Any

import anyio

import pipeloop
from benchmarks.engines import NodeSpec

__all__ = ["PipeloopEngine", "SlowDataset"]


class SlowDataset(pipeloop.AbstractDataset):
    """Every load and save waits ``delay`` seconds on the event loop (a network store)."""

    def __init__(self, delay: float, data: Any = None) -> None:
        self._delay = delay
        self._data = data

    async def _load(self) -> Any:
        await asyncio.sleep(self._delay)
        return self._data

    async def _save(self, data: Any) -> None:
        await asyncio.sleep(self._delay)
        self._data = data

    def _describe(self) -> dict[str, Any]:
        return {"delay": self._delay}


class PipeloopEngine:
    """Runs workloads on pipeloop."""

    name = "pipeloop"
    version = pipeloop.__version__

    def pipeline(self, nodes: Sequence[NodeSpec]) -> pipeloop.Pipeline:
        return pipeloop.Pipeline(
            [pipeloop.node(func, inputs, outputs, name=name)
             for func, inputs, outputs, name in nodes]
        )

    def catalog(self, data: Mapping[str, Any], datasets: Mapping[str, Any],
                policy: str) -> pipeloop.DataCatalog:
        catalog = pipeloop.DataCatalog(dict(datasets))
        catalog.add_feed_dict(dict(data))
        return catalog

    def slow_dataset(self, delay: float, data: Any = None) -> SlowDataset:
        return SlowDataset(delay, data)

    def run(self, pipeline: pipeloop.Pipeline, catalog: pipeloop.DataCatalog, policy: str, *,
            max_workers: int | None = None, is_async: bool | None = None) -> dict[str, Any]:
        return _runner(policy, max_workers, is_async).run_sync(pipeline, catalog)

    def run_warm(self, first: tuple[Any, Any], second: tuple[Any, Any], policy: str, *,
                 max_workers: int | None = None, is_async: bool | None = None) -> float:
        """Run ``first`` then ``second`` (pipeline, catalog) with one runner on one event loop,
        as a long-lived async app would; return the seconds the second run took, its pools
        already started by the first."""
        runner = _runner(policy, max_workers, is_async)

        async def both() -> float:
            await runner.run(*first)
            start = time.perf_counter()
            await runner.run(*second)
            return time.perf_counter() - start

        return anyio.run(both)


def _runner(policy: str, max_workers: int | None,
            is_async: bool | None) -> pipeloop.AbstractRunner:
    options: dict[str, Any] = {} if is_async is None else {"is_async": is_async}
    if policy == "sequential":
        return pipeloop.SequentialRunner(**options)
    if policy == "thread":
        return pipeloop.ThreadRunner(max_workers, **options)
    if policy == "parallel":
        return pipeloop.ParallelRunner(max_workers, **options)
    raise ValueError(f"unknown policy {policy!r}")
