"""The pipeloop adapter: the public API only, as a user would write it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

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
        options: dict[str, Any] = {} if is_async is None else {"is_async": is_async}
        runner: pipeloop.AbstractRunner
        if policy == "sequential":
            runner = pipeloop.SequentialRunner(**options)
        elif policy == "thread":
            runner = pipeloop.ThreadRunner(max_workers, **options)
        elif policy == "parallel":
            runner = pipeloop.ParallelRunner(max_workers, **options)
        else:
            raise ValueError(f"unknown policy {policy!r}")
        return runner.run_sync(pipeline, catalog)
