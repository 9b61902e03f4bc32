"""Runners written in Kedro's shapes: the guide's ``_run``-only DryRunner, Kedro 1.x's
``_run`` signature, and Kedro 1.x's ``_get_executor`` runners."""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any

import pytest

import pipeloop
from pipeloop import AbstractRunner, DataCatalog, MemoryDataset, Pipeline, node

with pytest.warns(DeprecationWarning):
    from pipeloop import MemoryDataSet


class DryRunner(AbstractRunner):
    def create_default_data_set(self, ds_name):  # type: ignore[no-untyped-def]
        return MemoryDataSet()

    def _run(self, pipeline, catalog):  # type: ignore[no-untyped-def]
        nodes = pipeline.nodes
        self._logger.info("Actual run would execute %d nodes:\n%s",
                          len(nodes), "\n".join(map(str, nodes)))


CALLS: list[str] = []


def double(x: int) -> int:
    CALLS.append("double")
    return 2 * x


def thread_name(x: int) -> str:
    return threading.current_thread().name


def pipeline() -> Pipeline:
    return Pipeline([node(double, "x", "y", name="double"),
                     node(double, "y", "z", name="again")])


def test_memory_data_set_alias_is_memory_dataset() -> None:
    assert MemoryDataSet is pipeloop.MemoryDataset


async def test_guide_dry_runner_runs_nothing_and_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    CALLS.clear()
    caplog.set_level(logging.INFO)
    result = await DryRunner().run(pipeline(), DataCatalog({"x": MemoryDataset(1)}))
    assert CALLS == []
    assert result == {}  # "z" is a free output, but it does not exist after the run
    assert "Actual run would execute 2 nodes" in caplog.text
    assert "double" in caplog.text


def test_guide_dry_runner_from_sync_code() -> None:
    CALLS.clear()
    assert DryRunner().run_sync(pipeline(), DataCatalog({"x": MemoryDataset(1)})) == {}
    assert CALLS == []


async def test_run_returns_only_free_outputs_that_exist() -> None:
    class HalfRunner(AbstractRunner):
        async def _run(self, pipeline, catalog):  # type: ignore[no-untyped-def]
            await catalog.save("y", 7)  # "y" is consumed by "again": not a free output

    catalog = DataCatalog({"x": MemoryDataset(1)})
    assert await HalfRunner().run(pipeline(), catalog) == {}

    class AllRunner(AbstractRunner):
        async def _run(self, pipeline, catalog):  # type: ignore[no-untyped-def]
            await catalog.save("z", 9)

    assert await AllRunner().run(pipeline(), DataCatalog({"x": MemoryDataset(1)})) == {"z": 9}


async def test_kedro_1x_run_signature_receives_hook_manager_and_run_id() -> None:
    seen: dict[str, Any] = {}

    class KedroShaped(AbstractRunner):
        def _run(self, pipeline, catalog, hook_manager=None, run_id=None):  # type: ignore[no-untyped-def]
            seen.update(hook_manager=hook_manager, run_id=run_id)

    await KedroShaped().run(pipeline(), DataCatalog({"x": MemoryDataset(1)}), run_id="r-1")
    assert seen["run_id"] == "r-1"
    assert seen["hook_manager"] is not None


class KedroThreadRunner(AbstractRunner):
    """Written as Kedro 1.x's thread runner is: an executor and a worker count."""

    def __init__(self, max_workers: int | None = None, is_async: bool = False):
        super().__init__(is_async=False)
        self._max_workers = max_workers

    def _get_required_workers_count(self, pipeline: Pipeline) -> int:
        required_threads = len(pipeline.nodes) - len(pipeline.grouped_nodes) + 1
        return (
            min(required_threads, self._max_workers)
            if self._max_workers
            else required_threads
        )

    def _get_executor(self, max_workers: int) -> Executor:
        return ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kedro-x")


class KedroThreadRunnerWithRun(KedroThreadRunner):
    """Kedro 1.x's runners also override ``_run`` only to call ``super()._run``."""

    def _run(self, pipeline, catalog, hook_manager=None, run_id=None):  # type: ignore[no-untyped-def]
        super()._run(pipeline=pipeline, catalog=catalog, hook_manager=hook_manager,
                     run_id=run_id)


@pytest.mark.parametrize("runner_class", [KedroThreadRunner, KedroThreadRunnerWithRun])
async def test_get_executor_runner_executes_plain_nodes_in_its_executor(
        runner_class: type[AbstractRunner]) -> None:
    pipe = Pipeline([node(thread_name, "x", "a", name="one"),
                     node(thread_name, "x", "b", name="two")])
    result = await runner_class().run(pipe, DataCatalog({"x": MemoryDataset(1)}))
    assert set(result) == {"a", "b"}
    assert all(name.startswith("kedro-x") for name in result.values()), result


async def test_get_executor_must_return_an_executor() -> None:
    from pipeloop.errors import RunnerError

    class Bad(AbstractRunner):
        def _get_executor(self, max_workers: int) -> Any:
            return "not an executor"

    with pytest.raises(RunnerError, match=r"Bad\._get_executor"):
        await Bad().run(pipeline(), DataCatalog({"x": MemoryDataset(1)}))
