"""``--trace``: Chrome trace-event JSON, one complete event per node, on lanes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from cli_helpers import Invoke, read_json

from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, ThreadRunner, node
from pipeloop.cli.trace import TraceRecorder, write_atomically


def _slow(x: int) -> int:
    time.sleep(0.05)
    return x


def _fail(x: int) -> int:
    raise ValueError("nope")


def _events(trace: dict, phase: str) -> list[dict]:  # type: ignore[type-arg]
    return [event for event in trace["traceEvents"] if event["ph"] == phase]


def test_the_cli_writes_one_complete_event_per_node(toy: Path, invoke: Invoke) -> None:
    path = toy / "out" / "trace.json"
    result = invoke("run", "--project", toy, "--trace", path)
    assert result.exit_code == 0, result.output
    trace = read_json(path)
    assert isinstance(trace, dict)
    nodes = _events(trace, "X")
    assert sorted(event["name"] for event in nodes) == sorted(
        ["make", "double", "extra.inc", "square__7821581f", "total", "report"])
    for event in nodes:
        assert {"ts", "dur", "pid", "tid"} <= set(event)
        assert event["dur"] >= 0 and event["args"]["status"] == "completed"
    begins = _events(trace, "b")
    loads, saves = ([e for e in begins if e["cat"] == kind] for kind in ("load", "save"))
    assert {e["name"] for e in saves} == {"a", "b", "c", "d", "e", "summary"}
    assert len(loads) == len(_events(trace, "e")) - len(saves)
    assert not list(path.parent.glob(".*.tmp"))  # written atomically, nothing left over


def test_concurrent_nodes_take_different_lanes() -> None:
    pipe = Pipeline([node(_slow, "x", f"y{i}", name=f"n{i}") for i in range(3)])
    trace = TraceRecorder()
    ThreadRunner().run_sync(pipe, DataCatalog({"x": MemoryDataset(1)}), hooks=[trace])
    lanes = sorted(event["tid"] for event in _events(trace.to_json(), "X"))
    assert lanes == [0, 1, 2]
    names = [e["args"]["name"] for e in _events(trace.to_json(), "M")]
    assert names == ["pipeloop run", "lane 0", "lane 1", "lane 2"]


def test_sequential_nodes_share_lane_zero_and_do_not_overlap() -> None:
    pipe = Pipeline([node(_slow, "x", "y", name="a"), node(_slow, "y", "z", name="b")])
    trace = TraceRecorder()
    SequentialRunner().run_sync(pipe, DataCatalog({"x": MemoryDataset(1)}), hooks=[trace])
    first, second = _events(trace.to_json(), "X")
    assert first["tid"] == second["tid"] == 0
    assert first["ts"] + first["dur"] <= second["ts"]
    assert first["dur"] >= 50_000  # microseconds


def test_a_failed_node_is_marked_and_the_trace_still_written(toy: Path, invoke: Invoke) -> None:
    path = toy / "trace.json"
    result = invoke("run", "--project", toy, "--params", "fail=true", "--trace", path)
    assert result.exit_code == 1
    trace = read_json(path)
    assert isinstance(trace, dict)
    failed = [e for e in _events(trace, "X") if e["args"]["status"] == "failed"]
    assert [(e["name"], e["args"]["error"]) for e in failed] == [("total", "ValueError: boom")]
    assert trace["otherData"]["error"] == "ValueError: boom"


def test_times_come_from_the_clock_in_microseconds() -> None:
    ticks = iter(range(0, 10**9, 1000))  # each reading 1 µs after the last
    trace = TraceRecorder(clock=lambda: next(ticks), pid=7)
    pipe = Pipeline([node(_fail, "x", "y", name="f")])
    with pytest.raises(ValueError):
        SequentialRunner().run_sync(pipe, DataCatalog({"x": MemoryDataset(1)}), hooks=[trace])
    (event,) = _events(trace.to_json(), "X")
    assert event["pid"] == 7 and event["ts"] >= 1 and event["dur"] >= 1
    assert event["ts"] == int(event["ts"])


def test_write_atomically_replaces_the_file_or_leaves_it(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "t.json"
    write_atomically(path, '{"a": 1}')
    assert json.loads(path.read_text()) == {"a": 1}
    with pytest.raises(TypeError):
        write_atomically(path, None)  # type: ignore[arg-type]
    assert json.loads(path.read_text()) == {"a": 1}
    assert [p.name for p in path.parent.iterdir()] == ["t.json"]


def test_a_trace_that_cannot_be_written_is_a_warning_not_a_failed_run(
    toy: Path, invoke: Invoke
) -> None:
    blocker = toy / "not-a-folder"
    blocker.write_text("a file where the trace's folder should be")
    result = invoke("run", "--project", toy, "--trace", blocker / "trace.json")
    assert result.exit_code == 0, result.output
    assert f"Could not write the trace to {blocker / 'trace.json'}" in result.stderr
    record = read_json(toy / ".pipeloop" / "last_run.json")
    assert isinstance(record, dict) and record["status"] == "completed"
