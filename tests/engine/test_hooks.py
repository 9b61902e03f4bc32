"""Run hooks: which are called, in what order, with which keyword arguments."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from pipeloop import (
    AbstractRunner,
    DataCatalog,
    MemoryDataset,
    Node,
    Pipeline,
    SequentialRunner,
    ThreadRunner,
    node,
)
from pipeloop.testing import RecordingHooks

NODE_ARGS = {"node", "catalog", "inputs", "is_async", "run_id", "session_id"}
PIPELINE_ARGS = {"run_params", "pipeline", "catalog"}


def double(x: int) -> int:
    return 2 * x


def add(a: int, b: int) -> int:
    return a + b


def split(x: int) -> tuple[int, int]:
    return x, x + 1


def fail(x: int) -> int:
    raise ValueError("hook test failure")


def single() -> Pipeline:
    return Pipeline([node(double, "x", "y", name="double")])


async def test_one_node_run_calls_every_hook_in_order(local_runner: AbstractRunner) -> None:
    hooks = RecordingHooks()
    await local_runner.run(single(), DataCatalog({"x": MemoryDataset(2)}), hooks=[hooks])
    assert hooks.trace() == [
        "before_pipeline_run",
        "before_dataset_loaded:x",
        "after_dataset_loaded:x",
        "before_node_run:double",
        "after_node_run:double",
        "before_dataset_saved:y",
        "after_dataset_saved:y",
        "after_pipeline_run",
    ]


async def test_hook_keyword_arguments() -> None:
    hooks = RecordingHooks()
    pipeline = single()
    result = await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(2)}),
                                          hooks=[hooks], run_id="run-42")
    calls = {call.name: call.kwargs for call in hooks.calls}

    before = calls["before_pipeline_run"]
    assert set(before) == PIPELINE_ARGS
    assert before["pipeline"] is pipeline
    assert isinstance(before["catalog"], DataCatalog)
    assert before["run_params"]["run_id"] == "run-42"
    assert before["run_params"]["runner"] == "SequentialRunner"
    assert set(calls["after_pipeline_run"]) == PIPELINE_ARGS | {"run_result"}
    assert calls["after_pipeline_run"]["run_result"] == result == {"y": 4}

    for name in ("before_node_run", "after_node_run"):
        kwargs = calls[name]
        assert set(kwargs) == NODE_ARGS | ({"outputs"} if name == "after_node_run" else set())
        assert isinstance(kwargs["node"], Node) and kwargs["node"].name == "double"
        assert kwargs["inputs"] == {"x": 2}
        assert kwargs["is_async"] is True
        assert kwargs["run_id"] == kwargs["session_id"] == "run-42"
        assert kwargs["catalog"] is before["catalog"]
    assert calls["after_node_run"]["outputs"] == {"y": 4}

    assert calls["before_dataset_loaded"] == {"dataset_name": "x",
                                              "node": calls["before_node_run"]["node"]}
    assert calls["after_dataset_loaded"]["data"] == 2
    assert set(calls["after_dataset_loaded"]) == {"dataset_name", "data", "node"}
    assert set(calls["before_dataset_saved"]) == {"dataset_name", "data", "node"}
    assert calls["before_dataset_saved"]["data"] == 4
    assert calls["after_dataset_saved"]["dataset_name"] == "y"


async def test_hooks_see_is_async_false() -> None:
    hooks = RecordingHooks()
    runner = SequentialRunner(is_async=False)
    await runner.run(single(), DataCatalog({"x": MemoryDataset(2)}), hooks=[hooks])
    assert hooks.named("before_node_run")[0].kwargs["is_async"] is False
    assert hooks.named("before_pipeline_run")[0].kwargs["run_params"]["is_async"] is False


async def test_a_random_run_id_is_given_when_none_is_passed() -> None:
    hooks = RecordingHooks()
    for _ in range(2):
        await SequentialRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                     hooks=[hooks])
    ids = [call.kwargs["run_params"]["run_id"] for call in hooks.named("before_pipeline_run")]
    assert all(isinstance(run_id, str) and run_id for run_id in ids)
    assert ids[0] != ids[1]


async def test_each_node_loads_runs_then_saves(local_runner: AbstractRunner) -> None:
    hooks = RecordingHooks()
    pipeline = Pipeline([
        node(split, "x", ["a", "b"], name="split"),
        node(add, ["a", "b"], "c", name="add"),
        node(double, "x", "d", name="double"),
    ])
    await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(1)}), hooks=[hooks])
    trace = hooks.trace()
    for name, inputs, outputs in (("split", ["x"], ["a", "b"]), ("add", ["a", "b"], ["c"]),
                                  ("double", ["x"], ["d"])):
        mine = [entry for i, entry in enumerate(trace)
                if hooks.calls[i].kwargs.get("node") is not None
                and hooks.calls[i].kwargs["node"].name == name]
        loads = [e for e in mine if e.startswith("after_dataset_loaded")]
        saves = [e for e in mine if e.startswith("before_dataset_saved")]
        assert sorted(loads) == sorted(f"after_dataset_loaded:{i}" for i in inputs)
        assert sorted(saves) == sorted(f"before_dataset_saved:{o}" for o in outputs)
        start, end = mine.index(f"before_node_run:{name}"), mine.index(f"after_node_run:{name}")
        assert all(mine.index(e) < start for e in loads)
        assert all(mine.index(e) > end for e in saves)
    # A node runs only after the node producing its inputs saved them.
    assert trace.index("after_dataset_saved:b") < trace.index("before_node_run:add")
    assert trace[0] == "before_pipeline_run" and trace[-1] == "after_pipeline_run"


async def test_failure_calls_the_error_hooks(local_runner: AbstractRunner) -> None:
    hooks = RecordingHooks()
    pipeline = Pipeline([node(fail, "x", "y", name="failing")])
    with pytest.raises(ValueError) as caught:
        await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(2)}), hooks=[hooks])
    assert hooks.trace() == [
        "before_pipeline_run",
        "before_dataset_loaded:x",
        "after_dataset_loaded:x",
        "before_node_run:failing",
        "on_node_error:failing",
        "on_pipeline_error",
    ]
    node_error = hooks.named("on_node_error")[0].kwargs
    assert set(node_error) == NODE_ARGS | {"error"}
    assert node_error["error"] is caught.value
    assert node_error["inputs"] == {"x": 2}
    pipeline_error = hooks.named("on_pipeline_error")[0].kwargs
    assert set(pipeline_error) == PIPELINE_ARGS | {"error"}
    assert pipeline_error["error"] is caught.value


class AsyncHooks:
    """Async hook methods, awaited by the runner."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def before_pipeline_run(self, **kwargs: Any) -> None:
        await anyio.sleep(0)
        self.seen.append("before_pipeline_run")

    async def before_node_run(self, node: Node, **kwargs: Any) -> None:
        await anyio.sleep(0)
        self.seen.append(f"before_node_run:{node.name}")

    async def after_dataset_saved(self, dataset_name: str, data: Any) -> None:
        await anyio.sleep(0)
        self.seen.append(f"saved:{dataset_name}={data}")

    async def after_pipeline_run(self, run_result: dict[str, Any]) -> None:
        await anyio.sleep(0)
        self.seen.append(f"after_pipeline_run:{run_result}")


async def test_async_hook_methods_are_awaited(local_runner: AbstractRunner) -> None:
    hooks = AsyncHooks()
    await local_runner.run(single(), DataCatalog({"x": MemoryDataset(2)}), hooks=[hooks])
    assert hooks.seen == [
        "before_pipeline_run",
        "before_node_run:double",
        "saved:y=4",
        "after_pipeline_run:{'y': 4}",
    ]


async def test_sync_and_async_hooks_together_in_registration_order() -> None:
    order: list[str] = []

    class First:
        def before_node_run(self) -> None:
            order.append("first")

    class Second:
        async def before_node_run(self) -> None:
            order.append("second")

    class Third:
        def before_node_run(self) -> None:
            order.append("third")

    await SequentialRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                 hooks=[First(), Second(), Third()])
    assert order == ["first", "second", "third"]


class Picky:
    """Declares only some arguments of each hook; any extra argument would be a TypeError."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Any]] = []

    def before_node_run(self, node: Node) -> None:
        self.got.append(("before_node_run", node.name))

    def after_node_run(self, outputs: dict[str, Any], node: Node) -> None:
        self.got.append(("after_node_run", (node.name, outputs)))

    def after_dataset_loaded(self, data: Any) -> None:
        self.got.append(("after_dataset_loaded", data))

    def before_pipeline_run(self) -> None:
        self.got.append(("before_pipeline_run", None))


async def test_a_hook_gets_only_the_arguments_it_declares() -> None:
    picky = Picky()
    await SequentialRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}), hooks=[picky])
    assert picky.got == [
        ("before_pipeline_run", None),
        ("after_dataset_loaded", 2),
        ("before_node_run", "double"),
        ("after_node_run", ("double", {"y": 4})),
    ]


async def test_a_hook_class_is_inspected_once_and_each_instance_still_gets_its_own_calls(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipeloop.engine.hooks as hooks_module

    monkeypatch.setattr(hooks_module, "_SHAPES", hooks_module.weakref.WeakKeyDictionary())
    inspected: list[object] = []
    signature = hooks_module.inspect.signature
    monkeypatch.setattr(hooks_module.inspect, "signature",
                        lambda func: inspected.append(func) or signature(func))
    first, second = Picky(), Picky()
    for picky in (first, second, first):
        await SequentialRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                     hooks=[picky])
    assert len(inspected) == 4  # Picky's four hook methods, once: not once per run
    assert len(first.got) == 8 and second.got == first.got[:4]


class ReplaceInputs:
    def before_node_run(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any] | None:
        if node.name == "add":
            return {"b": inputs["b"] * 100}
        return None


async def test_before_node_run_returning_a_dict_replaces_inputs(
    local_runner: AbstractRunner,
) -> None:
    recorder = RecordingHooks()
    pipeline = Pipeline([
        node(split, "x", ["a", "b"], name="split"),
        node(add, ["a", "b"], "c", name="add"),
    ])
    result = await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(1)}),
                                    hooks=[ReplaceInputs(), recorder])
    assert result == {"c": 1 + 200}
    # Hooks registered later see the replaced inputs when the node runs.
    after = recorder.named("after_node_run")
    assert after[-1].kwargs["inputs"] == {"a": 1, "b": 200}


async def test_objects_without_hook_methods_are_ignored() -> None:
    class NotAHook:
        unrelated = 1

        def something_else(self) -> None:
            raise AssertionError("never called")

    result = await SequentialRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                          hooks=[NotAHook()])
    assert result == {"y": 4}


async def test_a_failing_hook_fails_the_run_with_its_own_error() -> None:
    class Broken:
        def before_node_run(self, node: Node) -> None:
            raise RuntimeError(f"hook broke on {node.name}")

    with pytest.raises(RuntimeError, match="hook broke on double") as caught:
        await ThreadRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                 hooks=[Broken()])
    assert any("'double'" in note for note in caught.value.__notes__)


async def test_hooks_run_in_the_parent_for_the_process_policy() -> None:
    """Hooks are never sent to workers: they may hold unpicklable state such as a lock."""
    import threading

    class WithLock:
        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.nodes: list[str] = []

        def after_node_run(self, node: Node) -> None:
            with self.lock:
                self.nodes.append(node.name)

    from pipeloop import ParallelRunner

    hooks = WithLock()
    await ParallelRunner(max_workers=1).run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                            hooks=[hooks])
    assert hooks.nodes == ["double"]


class _BrokenSave(MemoryDataset):
    def save(self, data: Any) -> None:  # type: ignore[override]
        raise OSError("disk full")


async def test_a_failing_save_belongs_to_its_node(local_runner: AbstractRunner) -> None:
    from pipeloop import RunReport
    from pipeloop.errors import DatasetError

    hooks = RecordingHooks()
    report = RunReport()
    with pytest.raises(DatasetError, match="disk full"):
        await local_runner.run(single(), DataCatalog({"x": MemoryDataset(2), "y": _BrokenSave()}),
                               hooks=[hooks], report=report)
    errors = hooks.named("on_node_error")
    assert [call.kwargs["node"].name for call in errors] == ["double"]
    assert isinstance(errors[0].kwargs["error"], DatasetError)
    assert report.failed_nodes == ["double"]
    assert isinstance(report.errors["double"], DatasetError)


async def test_an_observer_hook_that_raises_is_logged_once_and_disabled(
        local_runner: AbstractRunner, caplog: pytest.LogCaptureFixture) -> None:
    calls: list[str] = []

    class Broken:
        def after_node_run(self, node: Node) -> None:
            calls.append(node.name)
            raise RuntimeError("progress bar broke")

    pipe = Pipeline([node(double, "x", "y", name="first"), node(double, "y", "z", name="second")])
    result = await local_runner.run(pipe, DataCatalog({"x": MemoryDataset(2)}), hooks=[Broken()])
    assert result == {"z": 8}
    assert calls == ["first"]  # disabled after it raised
    logged = [r for r in caplog.records if r.name == "pipeloop.hooks" and r.exc_info]
    assert len(logged) == 1 and "progress bar broke" in str(logged[0].exc_info[1])


async def test_before_node_run_that_replaces_inputs_and_raises_fails_the_node() -> None:
    class Replacer:
        def before_node_run(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("cannot replace")

    from pipeloop import RunReport

    report = RunReport()
    with pytest.raises(RuntimeError, match="cannot replace"):
        await SequentialRunner().run(single(), DataCatalog({"x": MemoryDataset(2)}),
                                     hooks=[Replacer()], report=report)
    assert report.failed_nodes == ["double"]


async def test_on_node_start_and_end_fire_once_per_node_with_state(
        local_runner: AbstractRunner) -> None:
    from pipeloop import NodeState

    starts: list[str] = []
    ends: list[tuple[str, object, object]] = []

    class Watch:
        def on_node_start(self, node: Node) -> None:
            starts.append(node.name)

        def on_node_end(self, node: Node, error: BaseException | None, state: object) -> None:
            ends.append((node.name, error, state))

    pipe = Pipeline([node(double, "x", "y", name="first"), node(fail, "y", "z", name="bad")])
    with pytest.raises(ValueError, match="hook test failure"):
        await local_runner.run(pipe, DataCatalog({"x": MemoryDataset(2)}), hooks=[Watch()])
    assert starts == ["first", "bad"]
    assert [(name, state) for name, _, state in ends] == [
        ("first", NodeState.COMPLETED), ("bad", NodeState.FAILED)]
    assert ends[0][1] is None and isinstance(ends[1][1], ValueError)
