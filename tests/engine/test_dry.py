"""``DryRunner``: lists what a run would execute, runs nothing."""

from __future__ import annotations

import pytest

from pipeloop import DataCatalog, DryRunner, MemoryDataset, Pipeline, node
from pipeloop.errors import MissingInputsError
from pipeloop.testing import CountingDataset, RecordingHooks


def must_not_run(*inputs: object) -> object:
    raise AssertionError("DryRunner executed a node")


def pipeline() -> Pipeline:
    return Pipeline([
        node(must_not_run, ["a", "x"], "b", name="second"),
        node(must_not_run, "x", "a", name="first"),
        node(lambda b: b, "b", "c", name="third_is_a_lambda"),
    ])


async def test_runs_nothing_and_returns_nothing() -> None:
    x = CountingDataset(1)
    runner = DryRunner()
    assert await runner.run(pipeline(), DataCatalog({"x": x})) == {}
    assert (x.loads, x.saves, x.releases) == (0, 0, 0)


async def test_planned_lists_the_nodes_in_order() -> None:
    runner = DryRunner()
    await runner.run(pipeline(), DataCatalog({"x": MemoryDataset(1)}))
    assert runner.planned == ["first", "second", "third_is_a_lambda"]
    assert runner.planned == [n.name for n in pipeline().nodes]


async def test_planned_follows_filters() -> None:
    runner = DryRunner()
    await runner.run(pipeline().from_nodes("second"), DataCatalog({"a": MemoryDataset(1),
                                                                   "x": MemoryDataset(1)}))
    assert runner.planned == ["second", "third_is_a_lambda"]


async def test_logs_the_plan(pipeloop_logs: pytest.LogCaptureFixture) -> None:
    await DryRunner().run(pipeline(), DataCatalog({"x": MemoryDataset(1)}))
    message = next(r.getMessage() for r in pipeloop_logs.records
                   if r.getMessage().startswith("Actual run would execute"))
    lines = message.splitlines()
    assert lines[0] == "Actual run would execute 3 nodes:"
    assert lines[1:] == [str(n) for n in pipeline().nodes]


async def test_hooks_see_a_pipeline_run_without_nodes() -> None:
    hooks = RecordingHooks()
    await DryRunner().run(pipeline(), DataCatalog({"x": MemoryDataset(1)}), hooks=[hooks])
    assert hooks.names == ["before_pipeline_run", "after_pipeline_run"]
    assert hooks.named("after_pipeline_run")[0].kwargs["run_result"] == {}


async def test_missing_inputs_are_still_an_error() -> None:
    with pytest.raises(MissingInputsError, match="x"):
        await DryRunner().run(pipeline(), DataCatalog())


async def test_the_catalog_is_left_alone() -> None:
    catalog = DataCatalog({"x": MemoryDataset(1)})
    await DryRunner().run(pipeline(), catalog)
    assert catalog.list() == ["x"]


def test_run_sync() -> None:
    runner = DryRunner()
    assert runner.run_sync(pipeline(), DataCatalog({"x": MemoryDataset(1)})) == {}
    assert runner.planned == ["first", "second", "third_is_a_lambda"]
