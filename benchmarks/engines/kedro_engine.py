"""The Kedro adapter, used only with ``--compare-kedro`` when Kedro is installed.

Each workload gets Kedro's best configuration that stays comparable: ``SharedMemoryDataCatalog``
for ``ParallelRunner`` (Kedro requires it), ``is_async=True`` where a workload asks for
concurrent loads and saves (Kedro then loads and saves in threads).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import kedro
from kedro.io import AbstractDataset, DataCatalog, MemoryDataset, SharedMemoryDataCatalog
from kedro.pipeline import Pipeline, node
from kedro.runner import ParallelRunner, SequentialRunner, ThreadRunner

from benchmarks.engines import NodeSpec

__all__ = ["KedroEngine", "KedroSlowDataset"]


class KedroSlowDataset(AbstractDataset):
    """Every load and save blocks ``delay`` seconds (Kedro datasets are synchronous)."""

    def __init__(self, delay: float, data: Any = None) -> None:
        self._delay = delay
        self._data = data

    def load(self) -> Any:
        time.sleep(self._delay)
        return self._data

    def save(self, data: Any) -> None:
        time.sleep(self._delay)
        self._data = data

    def _describe(self) -> dict[str, Any]:
        return {"delay": self._delay}


class KedroEngine:
    """Runs workloads on Kedro."""

    name = "kedro"
    version = kedro.__version__

    def pipeline(self, nodes: Sequence[NodeSpec]) -> Pipeline:
        return Pipeline([node(func, inputs, outputs, name=name)
                         for func, inputs, outputs, name in nodes])

    def catalog(self, data: Mapping[str, Any], datasets: Mapping[str, Any],
                policy: str) -> DataCatalog:
        entries = {name: MemoryDataset(value) for name, value in data.items()}
        entries.update(datasets)
        if policy == "parallel":
            return SharedMemoryDataCatalog(entries)
        return DataCatalog(entries)

    def slow_dataset(self, delay: float, data: Any = None) -> KedroSlowDataset:
        return KedroSlowDataset(delay, data)

    def run(self, pipeline: Pipeline, catalog: DataCatalog, policy: str, *,
            max_workers: int | None = None, is_async: bool | None = None) -> dict[str, Any]:
        options: dict[str, Any] = {} if is_async is None else {"is_async": is_async}
        if policy == "sequential":
            return SequentialRunner(**options).run(pipeline, catalog)
        if policy == "thread":
            # Kedro's ThreadRunner has no concurrent loads and saves: given is_async=True it
            # warns and sets it to False, so it is not passed.
            return ThreadRunner(max_workers).run(pipeline, catalog)
        if policy == "parallel":
            runner = ParallelRunner(max_workers, **options)
            try:
                return runner.run(pipeline, catalog)
            finally:
                # What __del__ would do later: stop the manager process inside the timing,
                # as pipeloop stops its worker processes before run_sync returns.
                runner._manager.shutdown()
        raise ValueError(f"unknown policy {policy!r}")
