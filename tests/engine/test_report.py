"""RunReport: the facts of a run after success, failure, keep_going, timeout, cancellation."""

from __future__ import annotations

import threading
from functools import partial

import anyio
import pytest

from pipeloop import (
    AbstractRunner,
    DataCatalog,
    MemoryDataset,
    NodeState,
    Pipeline,
    RunReport,
    RunStatus,
    SequentialRunner,
    ThreadRunner,
    node,
)

RELEASE = threading.Event()


def double(x: int) -> int:
    return 2 * x


def boom(x: int) -> int:
    raise ValueError("boom in node")


def block(x: int) -> int:
    # Bounded: a thread left behind by a timeout ends when the test sets RELEASE.
    RELEASE.wait(20)
    return x


def chain(middle: object) -> Pipeline:
    return Pipeline([
        node(double, "x", "a", name="first"),
        node(middle, "a", "b", name="middle"),
        node(double, "b", "c", name="last"),
        node(double, "x", "side", name="side"),
    ])


def catalog() -> DataCatalog:
    return DataCatalog({"x": MemoryDataset(1)})


async def test_report_after_success(local_runner: AbstractRunner) -> None:
    report = RunReport()
    result = await local_runner.run(chain(double), catalog(), report=report)
    assert report.status is RunStatus.COMPLETED
    assert set(report.node_states.values()) == {NodeState.COMPLETED}
    assert report.errors == {} and report.error is None
    assert report.failed_nodes == [] and report.unfinished_nodes == []
    assert report.resume_nodes == []
    assert report.outputs == result == {"c": 8, "side": 2}
    assert report.duration is not None and report.duration >= 0


async def test_report_after_failure(local_runner: AbstractRunner) -> None:
    report = RunReport()
    with pytest.raises(ValueError, match="boom in node"):
        await local_runner.run(chain(boom), catalog(), report=report)
    assert report.status is RunStatus.FAILED
    assert report.node_states["first"] is NodeState.COMPLETED
    assert report.node_states["middle"] is NodeState.FAILED
    assert report.node_states["last"] is not NodeState.COMPLETED
    assert report.failed_nodes == ["middle"]
    assert isinstance(report.errors["middle"], ValueError)
    assert "middle" in report.unfinished_nodes and "last" in report.unfinished_nodes
    assert "first" not in report.unfinished_nodes
    # "a" is in memory, so resuming (from_nodes) starts at its producer.
    assert "first" in report.resume_nodes and "middle" not in report.resume_nodes


async def test_report_after_keep_going_failure(local_runner: AbstractRunner) -> None:
    report = RunReport()
    with pytest.raises(Exception):  # noqa: B017 - the aggregate's type is not the point
        await local_runner.run(chain(boom), catalog(), report=report, keep_going=True)
    assert report.status is RunStatus.FAILED
    assert report.node_states["side"] is NodeState.COMPLETED
    assert report.node_states["middle"] is NodeState.FAILED
    assert report.node_states["last"] is NodeState.SKIPPED
    assert report.failed_nodes == ["middle"]
    assert isinstance(report.errors["middle"], ValueError)
    assert set(report.unfinished_nodes) == {"middle", "last"}
    assert report.resume_nodes == ["first"]


async def test_report_after_node_timeout(local_runner: AbstractRunner) -> None:
    from pipeloop.errors import NodeTimeoutError

    RELEASE.clear()
    pipeline = Pipeline([
        node(double, "x", "a", name="first"),
        # A plain node on the event loop's thread (sequential) cannot be stopped mid-call.
        node(sleep_long if isinstance(local_runner, SequentialRunner) else block,
             "a", "b", name="slow", timeout=0.5),
    ])
    report = RunReport()
    try:
        with pytest.raises(NodeTimeoutError):
            await local_runner.run(pipeline, catalog(), report=report)
    finally:
        RELEASE.set()
    assert report.status is RunStatus.FAILED
    assert report.node_states == {"first": NodeState.COMPLETED, "slow": NodeState.FAILED}
    assert isinstance(report.errors["slow"], NodeTimeoutError)
    assert report.failed_nodes == ["slow"] and report.unfinished_nodes == ["slow"]


async def sleep_long(x: int) -> int:
    await anyio.sleep(60)
    return x


@pytest.mark.parametrize("kind", ["async", "plain"])
async def test_report_after_caller_cancellation(local_runner: AbstractRunner,
                                                kind: str) -> None:
    if kind == "plain" and isinstance(local_runner, SequentialRunner):
        pytest.skip("a plain node on the event loop's thread cannot be cancelled mid-call")
    RELEASE.clear()
    started = anyio.Event()

    class Started:
        def on_node_start(self, node: object) -> None:
            if getattr(node, "name", "") == "slow":
                started.set()

    pipeline = Pipeline([
        node(double, "x", "a", name="first"),
        node(block if kind == "plain" else sleep_long, "a", "b", name="slow"),
        node(double, "b", "c", name="last"),
    ])
    report = RunReport()
    try:
        async with anyio.create_task_group() as tg:
            with anyio.move_on_after(60) as outer:
                async def watch() -> None:
                    await started.wait()
                    outer.cancel()
                tg.start_soon(watch)
                await local_runner.run(pipeline, catalog(), report=report, hooks=[Started()])
    finally:
        RELEASE.set()
    assert outer.cancelled_caught
    assert report.status is RunStatus.CANCELLED
    assert report.node_states["first"] is NodeState.COMPLETED
    assert report.node_states["slow"] is not NodeState.COMPLETED
    assert report.node_states["last"] is not NodeState.COMPLETED
    assert set(report.unfinished_nodes) == {"slow", "last"}
    assert report.resume_nodes == ["first"]



_FLAKY_CALLS: list[int] = []


def fails_twice(x: int) -> int:
    _FLAKY_CALLS.append(x)
    if len(_FLAKY_CALLS) < 3:
        raise ConnectionError("flaky")
    return x


async def test_timings_order_each_node_and_count_its_attempts() -> None:
    _FLAKY_CALLS.clear()
    pipe = Pipeline([node(double, "x", "a", name="first"),
                     node(fails_twice, "a", "b", name="retried", retries=2)])
    report = RunReport()
    await SequentialRunner().run(pipe, catalog(), report=report)
    timings = report.timings
    assert list(timings) == ["first", "retried"]
    assert timings["first"].attempts == 1 and timings["retried"].attempts == 3
    for timing in timings.values():
        assert timing.started is not None and timing.ended is not None
        assert timing.duration is not None and timing.duration >= 0
    assert timings["first"].ended <= timings["retried"].started  # type: ignore[operator]


# -- request_stop ---------------------------------------------------------------------------


def stops_the_run(x: int, report: RunReport) -> int:
    # Stands for the CLI's first Ctrl-C: asked while this node runs in its thread.
    report.request_stop()
    return x + 1


async def test_after_request_stop_no_node_starts_and_running_ones_complete() -> None:
    report = RunReport()
    pipeline = Pipeline([node(stops_the_run, ["x", "report"], "y", name="first"),
                         node(double, "y", "z", name="second")])
    catalog = DataCatalog({"x": MemoryDataset(1),
                           "report": MemoryDataset(report, copy_mode="assign")})
    async with anyio.create_task_group() as group:
        group.start_soon(partial(ThreadRunner().run, pipeline, catalog, report=report))
        # The run waits, started nodes done, for its caller to cancel it.
        while report.completed_nodes != ["first"]:
            await anyio.sleep(0.01)
        assert report.stop_requested
        assert report.node_states["second"] is NodeState.WAITING
        assert report.running_nodes() == []
        group.cancel_scope.cancel()
    assert report.status is RunStatus.CANCELLED
    assert (report.completed_nodes, report.unfinished_nodes) == (["first"], ["second"])


async def test_running_nodes_can_leave_out_async_ones() -> None:
    started, release = anyio.Event(), anyio.Event()

    async def waits(x: int) -> int:
        started.set()
        await release.wait()
        return x

    report = RunReport()
    pipeline = Pipeline([node(waits, "x", "a", name="async_one"),
                         node(block, "x", "b", name="plain_one")])
    RELEASE.clear()
    async with anyio.create_task_group() as group:
        group.start_soon(partial(ThreadRunner().run, pipeline,
                                 DataCatalog({"x": MemoryDataset(1)}), report=report))
        await started.wait()
        while len(report.running_nodes()) < 2:
            await anyio.sleep(0.01)
        assert report.running_nodes() == ["async_one", "plain_one"]
        assert report.running_nodes(plain_only=True) == ["plain_one"]
        RELEASE.set()
        release.set()
    assert report.status is RunStatus.COMPLETED
