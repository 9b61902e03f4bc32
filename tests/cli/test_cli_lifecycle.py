"""Node lives from hook calls, and what a failed run must resume from."""

from __future__ import annotations

import pytest

from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, ThreadRunner, node
from pipeloop.cli.lifecycle import NodeLifecycle, RunRecorder


def _one(x: int) -> int:
    return x + 1


def _two(x: int) -> tuple[int, int]:
    return x, x


def _boom(x: int) -> int:
    raise ValueError("boom")


def _sink(x: int) -> None:
    return None


class _Log(NodeLifecycle):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, str]] = []

    def node_started(self, node: object) -> None:
        self.events.append(("start", node.name))  # type: ignore[attr-defined]

    def node_finished(self, node: object, error: BaseException | None) -> None:
        self.events.append(("error" if error else "done", node.name))  # type: ignore[attr-defined]


PIPE = Pipeline([
    node(_two, "x", ["a", "b"], name="split"),
    node(_one, "a", "c", name="inc"),
    node(_sink, "c", None, name="sink"),
])


def test_a_node_lives_from_its_first_load_to_its_last_save() -> None:
    log = _Log()
    SequentialRunner().run_sync(PIPE, DataCatalog({"x": MemoryDataset(1)}), hooks=[log])
    assert log.events == [("start", "split"), ("done", "split"), ("start", "inc"),
                          ("done", "inc"), ("start", "sink"), ("done", "sink")]


def test_a_failing_node_finishes_with_its_error() -> None:
    log = _Log()
    failing = Pipeline([node(_boom, "x", "y", name="boom")])
    with pytest.raises(ValueError, match="boom"):
        SequentialRunner().run_sync(failing, DataCatalog({"x": MemoryDataset(1)}), hooks=[log])
    assert log.events == [("start", "boom"), ("error", "boom")]


def test_the_recorder_resumes_from_the_producers_of_lost_memory_data() -> None:
    pipe = Pipeline([
        node(_one, "x", "a", name="first"),
        node(_one, "a", "b", name="second"),
        node(_boom, "b", "c", name="third"),
    ])
    recorder = RunRecorder()
    catalog = DataCatalog({"x": MemoryDataset(1)})
    with pytest.raises(ValueError) as caught:
        ThreadRunner().run_sync(pipe, catalog, hooks=[recorder])
    assert [n.name for n in recorder.completed] == ["first", "second"]
    assert recorder.failed_node(caught.value) == "third"
    assert recorder.resume_nodes() == ["first"]  # a and b were in memory


def test_the_recorder_finds_the_node_of_a_load_failure_from_its_note() -> None:
    recorder = RunRecorder()
    error = ValueError("x")
    error.add_note("pipeloop: raised while running node 'f([a,b]) -> [c]'.")
    assert recorder.failed_node(error) == "f([a,b]) -> [c]"
    assert recorder.failed_node(ValueError("y")) is None
    assert recorder.resume_nodes() == []  # the run never started
