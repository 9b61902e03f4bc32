"""pipeloop.kedro's runners through Kedro's own API: ``runner.run(pipeline, catalog,
hook_manager, run_id=...)`` as ``KedroSession`` calls it, compared with Kedro's runners."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kedro", minversion="1.0")

from kedro.framework.hooks import hook_impl
from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import AbstractDataset, DataCatalog, DatasetError, MemoryDataset
from kedro.pipeline import Pipeline, node
from kedro.runner import AbstractRunner as KedroAbstractRunner
from kedro.runner import SequentialRunner as KedroSequentialRunner
from kedro.utils import load_obj
from kedro_funcs import add, double, fail, scale, split

import pipeloop.kedro

RUNNERS = {
    "sequential": lambda: pipeloop.kedro.SequentialRunner(),
    "thread": lambda: pipeloop.kedro.ThreadRunner(max_workers=4),
    "process": lambda: pipeloop.kedro.ParallelRunner(max_workers=2),
}


@pytest.fixture(params=sorted(RUNNERS))
def runner(request: pytest.FixtureRequest) -> KedroAbstractRunner:
    return RUNNERS[request.param]()


class Recorder:
    """A Kedro project hook that records the hooks it sees, with the process they ran in."""

    def __init__(self, replace: dict[str, dict[str, Any]] | None = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.replace = replace or {}

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):  # type: ignore[no-untyped-def]
        self.calls.append(("before_node_run", node.name, dict(inputs), run_id, os.getpid()))
        return self.replace.get(node.name)

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):  # type: ignore[no-untyped-def]
        self.calls.append(("after_node_run", node.name, dict(inputs), dict(outputs)))

    @hook_impl
    def on_node_error(self, error, node, catalog, inputs, is_async, run_id):  # type: ignore[no-untyped-def]
        self.calls.append(("on_node_error", node.name, repr(error)))

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):  # type: ignore[no-untyped-def]
        self.calls.append(("before_dataset_loaded", dataset_name, node.name))

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):  # type: ignore[no-untyped-def]
        self.calls.append(("after_dataset_saved", dataset_name, node.name, data))


def managed(*hooks: object) -> Any:
    manager = _create_hook_manager()
    for hook in hooks:
        manager.register(hook)
    return manager


def small_pipeline() -> Pipeline:
    return Pipeline([
        node(add, ["a", "b"], "s", name="add"),
        node(double, "s", "d", name="double"),
        node(split, "d", {"p": "p", "q": "q"}, name="split"),
        node(scale, {"value": "p", "factor": "params:factor"}, "r", name="scale"),
    ])


def small_catalog() -> DataCatalog:
    return DataCatalog({"a": MemoryDataset(1), "b": MemoryDataset(2),
                        "params:factor": MemoryDataset(3)})


def test_the_class_path_kedro_run_takes_makes_a_kedro_runner() -> None:
    """What ``kedro run --runner=pipeloop.kedro.ThreadRunner`` does with the option."""
    made = load_obj("pipeloop.kedro.ThreadRunner", "kedro.runner")(is_async=False)
    assert isinstance(made, KedroAbstractRunner)
    for name in ("SequentialRunner", "ParallelRunner"):
        assert isinstance(load_obj(f"pipeloop.kedro.{name}", "kedro.runner")(is_async=True),
                          KedroAbstractRunner)


def test_returns_what_kedros_runner_returns(runner: KedroAbstractRunner) -> None:
    expected_catalog, catalog = small_catalog(), small_catalog()
    expected = KedroSequentialRunner().run(small_pipeline(), expected_catalog, managed())
    result = runner.run(small_pipeline(), catalog, managed(), run_id="r1")
    assert sorted(result) == sorted(expected) == ["q", "r"]
    for name, dataset in result.items():
        assert dataset is catalog[name]  # Kedro's datasets, not copies or data
        assert dataset.load() == expected[name].load()


def test_fires_kedros_hooks_with_kedros_arguments(runner: KedroAbstractRunner) -> None:
    expected, got = Recorder(), Recorder()
    KedroSequentialRunner().run(small_pipeline(), small_catalog(), managed(expected),
                                run_id="r1")
    runner.run(small_pipeline(), small_catalog(), managed(got), run_id="r1")
    assert sorted(map(repr, got.calls)) == sorted(map(repr, expected.calls))
    assert {call[-1] for call in got.calls if call[0] == "before_node_run"} == {os.getpid()}


def test_before_node_run_answers_replace_inputs(runner: KedroAbstractRunner) -> None:
    recorder = Recorder(replace={"double": {"s": 100}})
    result = runner.run(small_pipeline(), small_catalog(), managed(recorder))
    assert result["q"].load() == -200
    assert ("after_node_run", "double", {"s": 100}, {"d": 200}) in recorder.calls


def test_a_before_node_run_answer_that_is_not_a_dict_is_kedros_type_error() -> None:
    recorder = Recorder(replace={"add": [1]})  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="'before_node_run' must return either None or a"):
        pipeloop.kedro.ThreadRunner().run(small_pipeline(), small_catalog(), managed(recorder))


def test_a_node_error_is_raised_unchanged_after_on_node_error(
    runner: KedroAbstractRunner,
) -> None:
    recorder = Recorder()
    failing = Pipeline([node(add, ["a", "b"], "s", name="add"),
                        node(fail, "s", "t", name="fail")])
    with pytest.raises(ValueError, match="node failed on 3") as caught:
        runner.run(failing, small_catalog(), managed(recorder))
    assert any("'fail'" in note for note in caught.value.__notes__)
    assert [c for c in recorder.calls if c[0] == "on_node_error"] == [
        ("on_node_error", "fail", "ValueError('node failed on 3')")]


class Broken(AbstractDataset):
    def _load(self) -> Any:
        raise OSError("disk on fire")

    def _save(self, data: Any) -> None:
        raise OSError("disk on fire")

    def _describe(self) -> dict[str, Any]:
        return {}


def test_a_load_error_is_kedros_own_and_is_no_node_error(runner: KedroAbstractRunner) -> None:
    recorder = Recorder()
    catalog = DataCatalog({"a": Broken(), "b": MemoryDataset(2)})
    pipe = Pipeline([node(add, ["a", "b"], "s", name="add")])
    with pytest.raises(DatasetError, match="disk on fire"):
        runner.run(pipe, catalog, managed(recorder))
    assert not [c for c in recorder.calls if c[0] in ("on_node_error", "before_node_run")]


class Meeting(AbstractDataset):
    """Loads wait until ``parties`` loads are in progress at once: only concurrent loading
    gets past it. Also counts the most loads ever in progress together."""

    def __init__(self, barrier: threading.Barrier | None, state: dict[str, int]) -> None:
        self._barrier, self._state = barrier, state

    def _load(self) -> int:
        with LOCK:
            self._state["now"] += 1
            self._state["most"] = max(self._state["most"], self._state["now"])
        try:
            if self._barrier is not None:
                self._barrier.wait()
            return 1
        finally:
            with LOCK:
                self._state["now"] -= 1

    def _save(self, data: Any) -> None:
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        return {}


LOCK = threading.Lock()


def test_a_nodes_inputs_load_concurrently_although_kedro_passes_is_async_false() -> None:
    barrier = threading.Barrier(2, timeout=60)
    state = {"now": 0, "most": 0}
    catalog = DataCatalog({"a": Meeting(barrier, state), "b": Meeting(barrier, state)})
    pipe = Pipeline([node(add, ["a", "b"], "s", name="add")])
    result = pipeloop.kedro.SequentialRunner(is_async=False).run(pipe, catalog, managed())
    assert result["s"].load() == 2
    assert state["most"] == 2


def test_concurrent_io_false_loads_one_dataset_at_a_time() -> None:
    state = {"now": 0, "most": 0}
    catalog = DataCatalog({"a": Meeting(None, state), "b": Meeting(None, state)})
    pipe = Pipeline([node(add, ["a", "b"], "s", name="add")])
    recorder = Recorder()
    runner = pipeloop.kedro.ThreadRunner(concurrent_io=False)
    assert runner.run(pipe, catalog, managed(recorder))["s"].load() == 2
    assert state["most"] == 1


def test_async_node_functions_are_awaited_together() -> None:
    """Two ``async def`` nodes that each wait for the other: they finish only when awaited
    concurrently on one loop (Kedro's own runners would save two coroutine objects)."""
    events: dict[str, asyncio.Event] = {}

    def event(name: str) -> asyncio.Event:
        return events.setdefault(name, asyncio.Event())

    async def left(x: int) -> int:
        event("left").set()
        await event("right").wait()
        return x + 1

    async def right(x: int) -> int:
        event("right").set()
        await event("left").wait()
        return x + 2

    pipe = Pipeline([node(left, "a", "l", name="left"), node(right, "a", "r", name="right")])
    result = pipeloop.kedro.ThreadRunner().run(pipe, DataCatalog({"a": MemoryDataset(1)}),
                                              managed())
    assert (result["l"].load(), result["r"].load()) == (2, 3)


def test_runs_from_inside_a_running_event_loop() -> None:
    """A Jupyter kernel runs an event loop in the thread that calls ``session.run``."""

    async def main() -> dict[str, Any]:
        return pipeloop.kedro.ThreadRunner().run(small_pipeline(), small_catalog(), managed())

    assert asyncio.run(main())["r"].load() == 18


def test_only_missing_outputs_skips_nodes_whose_outputs_exist(tmp_path: Path) -> None:
    """Kedro's own ``run`` (kept, not re-implemented) selects the nodes."""
    from kedro_datasets.json import JSONDataset

    done = JSONDataset(filepath=str(tmp_path / "d.json"))
    done.save(10)
    catalog = small_catalog()
    catalog["d"] = done
    catalog["e"] = JSONDataset(filepath=str(tmp_path / "e.json"))  # missing: "other" runs
    recorder = Recorder()
    pipe = Pipeline([node(add, ["a", "b"], "s", name="add"),
                     node(double, "s", "d", name="double"),
                     node(double, "a", "e", name="other")])
    pipeloop.kedro.ThreadRunner().run(pipe, catalog, managed(recorder),
                                      only_missing_outputs=True)
    assert [c[1] for c in recorder.calls if c[0] == "before_node_run"] == ["other"]
    assert done.load() == 10


class Confirmable(MemoryDataset):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    def save(self, data: Any) -> None:
        self.log.append("saved")
        super().save(data)

    def confirm(self) -> None:
        self.log.append("confirmed")


def test_confirms_are_confirmed_after_the_outputs_are_saved() -> None:
    log: list[str] = []
    catalog = DataCatalog({"a": MemoryDataset(1), "b": MemoryDataset(2),
                           "checkpoint": Confirmable(log)})
    pipe = Pipeline([node(add, ["a", "b"], "checkpoint", name="add", confirms="checkpoint")])
    pipeloop.kedro.ThreadRunner().run(pipe, catalog, managed())
    assert log == ["saved", "confirmed"]


def test_repr_names_the_pipeloop_runner() -> None:
    assert repr(pipeloop.kedro.ThreadRunner(max_workers=3)) == (
        "pipeloop.kedro.ThreadRunner(max_workers=3, concurrent_io=True)")
    assert repr(pipeloop.kedro.SequentialRunner(concurrent_io=False)) == (
        "pipeloop.kedro.SequentialRunner(concurrent_io=False)")
