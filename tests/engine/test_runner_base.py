"""What every runner does around the scheduler (``AbstractRunner.run``/``run_sync``), under
each local policy: Kedro's example session, free outputs, missing inputs, default datasets,
the caller's catalog, errors from nodes, and custom runners.

Node functions live at module level so that ``ParallelRunner`` can send them to workers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest

from pipeloop import (
    AbstractDataset,
    AbstractRunner,
    DataCatalog,
    LambdaDataset,
    MemoryDataset,
    Node,
    ParallelRunner,
    Pipeline,
    SequentialRunner,
    ThreadRunner,
    node,
)
from pipeloop.engine.policy import RunContext
from pipeloop.errors import MissingInputsError, NodeError, PipeloopError, RunnerError
from pipeloop.testing import CountingDataset, RecordingHooks

RunnerFactory = Callable[..., AbstractRunner]

# -- Kedro's "running pipelines" example, verbatim --------------------------------------------


def mean(xs, n):  # type: ignore[no-untyped-def]
    return sum(xs) / n


def mean_sos(xs, n):  # type: ignore[no-untyped-def]
    return sum(x**2 for x in xs) / n


def variance(m, m2):  # type: ignore[no-untyped-def]
    return m2 - m * m


def kedro_pipeline() -> Pipeline:
    return Pipeline([
        node(len, "xs", "n"),
        node(mean, ["xs", "n"], "m", name="mean_node"),
        node(mean_sos, ["xs", "n"], "m2", name="mean_sos"),
        node(variance, ["m", "m2"], "v", name="variance_node"),
    ])


class Store:
    """Where the session's ``LambdaDataset`` keeps ``v`` (the user's own callables)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def load(self) -> Any:
        return self.data["v"]

    def save(self, value: Any) -> None:
        self.data["v"] = value


async def test_kedro_session_verbatim(local_runner: AbstractRunner) -> None:
    pipeline = kedro_pipeline()
    assert pipeline.inputs() == {"xs"}
    assert pipeline.outputs() == {"v"}
    io = DataCatalog(dict(xs=MemoryDataset()))
    assert io.list() == ["xs"]
    await io.save("xs", [1, 2, 3])

    first = await type(local_runner)().run(pipeline, catalog=io)
    assert first == {"v": pytest.approx(2 / 3)}

    store = Store()
    io.add("v", LambdaDataset(load=store.load, save=store.save))
    second = await type(local_runner)().run(pipeline, catalog=io)
    assert second == {}
    assert await io.load("v") == pytest.approx(2 / 3)
    assert store.data == {"v": pytest.approx(2 / 3)}


@pytest.mark.parametrize("runner_class", [SequentialRunner, ThreadRunner, ParallelRunner])
def test_kedro_session_with_run_sync_from_plain_code(runner_class: type[AbstractRunner]) -> None:
    pipeline = kedro_pipeline()
    io = DataCatalog(dict(xs=MemoryDataset([1, 2, 3])))
    assert runner_class().run_sync(pipeline, io) == {"v": pytest.approx(2 / 3)}

    store = Store()
    io.add("v", LambdaDataset(load=store.load, save=store.save))
    assert runner_class().run_sync(pipeline, io) == {}
    assert store.data["v"] == pytest.approx(2 / 3)


def test_run_sync_twice_with_one_runner() -> None:
    """A runner's per-loop state (thread limiter, process pool) must not leak between the
    loops that ``run_sync`` makes."""
    for runner in (ThreadRunner(max_workers=2), ParallelRunner(max_workers=1)):
        for _ in range(2):
            io = DataCatalog(dict(xs=MemoryDataset([1, 2, 3])))
            assert runner.run_sync(kedro_pipeline(), io) == {"v": pytest.approx(2 / 3)}


async def test_run_sync_inside_a_running_loop_is_refused(local_runner: AbstractRunner) -> None:
    counted = CountingDataset([1, 2, 3])
    io = DataCatalog({"xs": counted})
    with pytest.raises(RunnerError, match=r"await runner\.run"):
        local_runner.run_sync(kedro_pipeline(), io)
    assert counted.loads == 0


def test_run_sync_passes_hooks_and_run_id() -> None:
    hooks = RecordingHooks()
    io = DataCatalog(dict(xs=MemoryDataset([1, 2, 3])))
    SequentialRunner().run_sync(kedro_pipeline(), io, hooks=[hooks], run_id="sync-run")
    assert hooks.names[0] == "before_pipeline_run"
    assert hooks.calls[0].kwargs["run_params"]["run_id"] == "sync-run"


# -- free outputs, default datasets, the caller's catalog -----------------------------------


def double(x: int) -> int:
    return 2 * x


def inc(x: int) -> int:
    return x + 1


def add(a: int, b: int) -> int:
    return a + b


def fan() -> Pipeline:
    """x -> a -> (b, c); b + c -> d; a also feeds the free output e."""
    return Pipeline([
        node(double, "x", "a", name="double"),
        node(inc, "a", "b", name="inc_b"),
        node(inc, "a", "c", name="inc_c"),
        node(add, ["b", "c"], "d", name="add"),
        node(double, "a", "e", name="double_e"),
    ])


async def test_returns_every_free_output(local_runner: AbstractRunner) -> None:
    result = await local_runner.run(fan(), DataCatalog({"x": MemoryDataset(5)}))
    assert result == {"d": 22, "e": 20}


async def test_free_outputs_registered_in_the_catalog_are_saved_not_returned(
    local_runner: AbstractRunner,
) -> None:
    catalog = DataCatalog({"x": MemoryDataset(5), "e": MemoryDataset()})
    result = await local_runner.run(fan(), catalog)
    assert result == {"d": 22}
    assert await catalog.load("e") == 20


async def test_empty_pipeline_returns_nothing(local_runner: AbstractRunner) -> None:
    assert await local_runner.run(Pipeline([]), DataCatalog()) == {}


class RecordingDefaults(SequentialRunner):
    """A runner whose default datasets count their use."""

    def __init__(self) -> None:
        super().__init__()
        self.created: dict[str, CountingDataset] = {}

    def create_default_dataset(self, name: str) -> AbstractDataset:
        self.created[name] = CountingDataset()
        return self.created[name]


async def test_unregistered_datasets_get_create_default_dataset() -> None:
    runner = RecordingDefaults()
    c = CountingDataset()
    catalog = DataCatalog({"x": MemoryDataset(5), "c": c})
    result = await runner.run(fan(), catalog)
    # Only names the catalog does not hold; registered ones ("x", "c") are used as they are.
    assert set(runner.created) == {"a", "b", "d", "e"}
    assert runner.created["a"].saves == 1
    assert runner.created["a"].loads == 3  # inc_b, inc_c, double_e
    # The free outputs come back from the default datasets that hold them.
    assert result == {"d": 22, "e": 20}
    assert runner.created["d"].loads == 1
    # The registered intermediate was used, not replaced: saved once, read once, released.
    assert (c.saves, c.loads, c.releases) == (1, 1, 1)


async def test_default_datasets_are_memory_datasets(local_runner: AbstractRunner) -> None:
    dataset = local_runner.create_default_dataset("anything")
    assert isinstance(dataset, MemoryDataset)
    assert local_runner.create_default_dataset("anything") is not dataset


async def test_the_callers_catalog_is_not_modified(local_runner: AbstractRunner) -> None:
    x = MemoryDataset(5)
    catalog = DataCatalog({"x": x})
    before = {name: catalog[name] for name in catalog.list()}
    await local_runner.run(fan(), catalog)
    assert catalog.list() == ["x"]
    assert {name: catalog[name] for name in catalog.list()} == before
    assert "a" not in catalog
    assert await catalog.load("x") == 5


async def test_two_runs_do_not_share_intermediate_data(local_runner: AbstractRunner) -> None:
    first = await local_runner.run(fan(), DataCatalog({"x": MemoryDataset(1)}))
    second = await local_runner.run(fan(), DataCatalog({"x": MemoryDataset(2)}))
    assert first == {"d": 6, "e": 4}
    assert second == {"d": 10, "e": 8}


# -- missing inputs -------------------------------------------------------------------------


async def test_missing_free_inputs_are_one_error_listing_all_before_anything_runs(
    local_runner: AbstractRunner,
) -> None:
    pipeline = Pipeline([
        node(add, ["x", "y"], "s", name="first"),
        node(add, ["s", "params:z"], "t", name="second"),
        node(double, "w", "u", name="third"),
    ])
    present = CountingDataset(1)
    hooks = RecordingHooks()
    catalog = DataCatalog({"y": present})
    with pytest.raises(MissingInputsError) as caught:
        await local_runner.run(pipeline, catalog, hooks=[hooks])
    message = str(caught.value)
    for name in ("x", "params:z", "w"):
        assert repr(name) in message or name in message
    assert "'y'" not in message
    assert isinstance(caught.value, PipeloopError)
    assert hooks.calls == []  # not even before_pipeline_run
    assert present.loads == 0


async def test_free_input_registered_but_empty_fails_when_loaded(
    local_runner: AbstractRunner,
) -> None:
    """A registered free input is not "missing"; loading it is what fails, naming it."""
    with pytest.raises(Exception, match="MemoryDataset") as caught:
        await local_runner.run(fan(), DataCatalog({"x": MemoryDataset()}))
    assert any("double" in note for note in getattr(caught.value, "__notes__", []))


# -- errors from nodes ------------------------------------------------------------------------


class CustomError(Exception):
    pass


def explode(x: Any) -> Any:
    raise CustomError(f"exploded on {x!r}")


async def async_explode(x: Any) -> Any:
    raise CustomError(f"exploded on {x!r}")


@pytest.mark.parametrize("func", [explode, async_explode], ids=["sync", "async"])
async def test_node_error_propagates_unchanged_with_a_note(
    local_runner: AbstractRunner, func: Callable[[Any], Any]
) -> None:
    pipeline = Pipeline([node(double, "x", "a", name="ok"), node(func, "a", "b", name="boom")])
    with pytest.raises(CustomError, match="exploded on 10") as caught:
        await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(5)}))
    notes = caught.value.__notes__
    assert any("'boom'" in note for note in notes)
    assert not any("'ok'" in note for note in notes)


def pair(x: int) -> tuple[int, int]:
    return x, x


def one_value(x: int) -> int:
    return x


def wrong_keys(x: int) -> dict[str, int]:
    return {"left": x, "wrong": x}


async def async_one_value(x: int) -> int:
    return x


@pytest.mark.parametrize(
    ("func", "outputs", "expected"),
    [
        (one_value, ["p", "q"], r"declares 2 outputs \['p', 'q'\].*returned int"),
        (pair, ["p", "q", "r"], r"declares 3 outputs.*returned 2 values"),
        (wrong_keys, {"left": "p", "right": "q"}, r"missing \['right'\], unexpected \['wrong'\]"),
        (one_value, {"left": "p"}, r"must return a dict, but it returned int"),
        (async_one_value, ["p", "q"], r"declares 2 outputs.*returned int"),
    ],
    ids=["not-a-sequence", "wrong-length", "wrong-keys", "not-a-dict", "async"],
)
async def test_output_shape_errors_name_the_node_and_both_shapes(
    local_runner: AbstractRunner, func: Callable[[int], Any], outputs: Any, expected: str
) -> None:
    pipeline = Pipeline([node(func, "x", outputs, name="shaper")])
    with pytest.raises(NodeError, match=expected) as caught:
        await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert "Node 'shaper'" in str(caught.value)


def returns_none(x: int) -> None:
    return None


async def test_saving_none_names_the_dataset(local_runner: AbstractRunner) -> None:
    pipeline = Pipeline([node(returns_none, "x", "out", name="nothing")])
    with pytest.raises(PipeloopError, match="None") as caught:
        await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert any("'nothing'" in note for note in caught.value.__notes__)


# -- async nodes and where functions execute ------------------------------------------------


def where_sync(x: int) -> dict[str, Any]:
    return {"pid": os.getpid(), "thread": threading.get_ident(), "x": x}


async def where_async(x: int) -> dict[str, Any]:
    return {"pid": os.getpid(), "thread": threading.get_ident(), "x": x}


async def test_async_nodes_are_awaited_on_the_loop_under_every_policy(
    local_runner: AbstractRunner,
) -> None:
    pipeline = Pipeline([
        node(where_async, "x", "a", name="first"),
        node(where_async, "x", "b", name="second"),
    ])
    result = await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(3)}))
    for placed in result.values():
        assert placed == {"pid": os.getpid(), "thread": threading.get_ident(), "x": 3}


@pytest.mark.parametrize(
    ("policy", "same_process", "same_thread"),
    [("sequential", True, True), ("thread", True, False), ("process", False, None)],
)
async def test_where_sync_nodes_execute(
    runner_of: RunnerFactory, policy: str, same_process: bool, same_thread: bool | None
) -> None:
    pipeline = Pipeline([node(where_sync, "x", "a", name="placed")])
    result = await runner_of(policy).run(pipeline, DataCatalog({"x": MemoryDataset(3)}))
    placed = result["a"]
    assert placed["x"] == 3
    assert (placed["pid"] == os.getpid()) is same_process
    if same_thread is not None:
        assert (placed["thread"] == threading.get_ident()) is same_thread


# -- options, repr ----------------------------------------------------------------------------


@pytest.mark.parametrize("runner_class", [ThreadRunner, ParallelRunner])
@pytest.mark.parametrize("bad", [0, -1])
def test_max_workers_must_be_positive(runner_class: type[Any], bad: int) -> None:
    with pytest.raises(RunnerError, match="max_workers"):
        runner_class(max_workers=bad)


def test_reprs_show_the_options() -> None:
    assert repr(SequentialRunner(is_async=False)) == "SequentialRunner(is_async=False)"
    assert repr(ThreadRunner(max_workers=3)) == "ThreadRunner(max_workers=3, is_async=True)"
    assert repr(ParallelRunner(max_workers=2)) == "ParallelRunner(max_workers=2, is_async=True)"


async def test_abstract_runner_runs_plain_nodes_inline_by_default() -> None:
    pipeline = Pipeline([node(double, "x", "a", name="d1"), node(inc, "a", "b", name="i1")])
    assert await AbstractRunner().run(pipeline, DataCatalog({"x": MemoryDataset(2)})) == {
        "b": 5}


# -- custom runners through the policy seam -------------------------------------------------


class TracingRunner(AbstractRunner):
    """A custom policy: runs functions inline, one at a time, and traces the seam."""

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[str] = []

    @property
    def max_concurrent_nodes(self) -> int | None:
        return 1

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        self.trace.append(f"execute {node.name}")
        return node.run(inputs)


async def test_custom_runner_overrides_the_one_method_of_the_seam() -> None:
    runner = TracingRunner()
    pipeline = Pipeline([node(double, "x", "a", name="d1"), node(inc, "a", "b", name="i1")])
    assert await runner.run(pipeline, DataCatalog({"x": MemoryDataset(2)})) == {"b": 5}
    assert runner.trace == ["execute d1", "execute i1"]


class RefusingRunner(SequentialRunner):
    @asynccontextmanager
    async def open_run(self, pipeline: Pipeline, catalog: DataCatalog
                       ) -> AsyncIterator[RunContext]:
        raise RunnerError(f"refused {len(pipeline.nodes)} nodes")
        yield RunContext(self)  # pragma: no cover


async def test_open_run_refuses_before_any_hook_or_node() -> None:
    hooks = RecordingHooks()
    x = CountingDataset(1)
    with pytest.raises(RunnerError, match="refused 5 nodes"):
        await RefusingRunner().run(fan(), DataCatalog({"x": x}), hooks=[hooks])
    assert hooks.calls == []
    assert x.loads == 0


async def test_concurrent_runs_on_separate_catalogs_do_not_mix(
    local_runner: AbstractRunner,
) -> None:
    results: dict[int, dict[str, Any]] = {}

    async def one(x: int) -> None:
        results[x] = await local_runner.run(fan(), DataCatalog({"x": MemoryDataset(x)}))

    async with anyio.create_task_group() as group:
        for x in range(12):
            group.start_soon(one, x)
    assert results == {x: {"d": 4 * x + 2, "e": 4 * x} for x in range(12)}


@pytest.mark.parametrize(("runner", "announced"), [
    (SequentialRunner(), True), (SequentialRunner(is_async=False), False),
    (ParallelRunner(max_workers=1), True), (ThreadRunner(), False),
])
async def test_kedros_asynchronous_mode_line(
    runner: AbstractRunner, announced: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    await runner.run(Pipeline([node(double, "x", "y", name="d")]),
                     DataCatalog({"x": MemoryDataset(1)}))
    line = "Asynchronous mode is enabled for loading and saving data."
    assert (line in caplog.text) is announced
