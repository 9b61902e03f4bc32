"""The one scheduler, through ``runner.run``: order, concurrent data movement, release of
intermediate data, failure, cancellation from outside, and the reliability options
(retries, timeouts, ``keep_going``).

Concurrency is proven by recorded events (who started before whom), not by timing. Node
functions live at module level so that ``ParallelRunner`` can send them to workers; state a
node must share with the test travels through ``MemoryDataset(..., copy_mode="assign")``
or, across processes, through files.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from pipeloop import (
    AbstractDataset,
    AbstractRunner,
    DataCatalog,
    LambdaDataset,
    MemoryDataset,
    ParallelRunner,
    Pipeline,
    RunReport,
    RunStatus,
    SequentialRunner,
    ThreadRunner,
    node,
)
from pipeloop.errors import NodeError, NodesFailedError, NodeTimeoutError
from pipeloop.testing import CountingDataset, RecordingHooks, SlowDataset

RunnerFactory = Callable[..., AbstractRunner]


def assign(value: Any) -> MemoryDataset:
    """A dataset that hands out ``value`` itself (events, lists), never a copy."""
    return MemoryDataset(value, copy_mode="assign")


def max_overlap(events: list[tuple[str, str]], kind: str) -> int:
    """The most ``kind`` operations ("load"/"save") in progress at once."""
    active = peak = 0
    for _label, event in events:
        if event == f"{kind}-start":
            active += 1
            peak = max(peak, active)
        elif event == f"{kind}-end":
            active -= 1
    return peak


def inc(x: int) -> int:
    return x + 1


def add(a: int, b: int) -> int:
    return a + b


def add3(a: int, b: int, c: int) -> int:
    return a + b + c


def triple(x: int) -> tuple[int, int, int]:
    return x, x + 1, x + 2


# -- order ------------------------------------------------------------------------------------


def tangled() -> Pipeline:
    """Names chosen so that alphabetical, insertion and topological order all differ."""
    return Pipeline([
        node(add, ["d", "e"], "f", name="b_last"),
        node(inc, "x", "a", name="z_first"),
        node(inc, "a", "b", name="m_mid"),
        node(inc, "a", "c", name="a_mid"),
        node(add, ["b", "c"], "d", name="k_join"),
        node(inc, "x", "e", name="y_side"),
    ])


async def test_sequential_order_is_pipeline_nodes() -> None:
    pipeline = tangled()
    hooks = RecordingHooks()
    result = await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(0)}),
                                          hooks=[hooks])
    assert result == {"f": 5}
    ran = [call.subject for call in hooks.named("after_node_run")]
    assert ran == [n.name for n in pipeline.nodes]
    # ... and each node completes before the next one starts.
    node_calls = [c for c in hooks.calls if c.name in ("before_node_run", "after_node_run")]
    assert [c.name for c in node_calls] == ["before_node_run", "after_node_run"] * 6


def record_into(log: list[str], *inputs: Any, name: str) -> int:
    log.append(name)
    return 1


async def test_thread_runner_with_one_worker_keeps_the_sequential_order() -> None:
    log: list[str] = []
    pipeline = Pipeline([
        node(functools.partial(record_into, name="a"), "log", "a_out", name="a"),
        node(functools.partial(record_into, name="b"), ["log", "a_out"], "b_out", name="b"),
        node(functools.partial(record_into, name="c"), "log", "c_out", name="c"),
    ])
    assert [n.name for n in pipeline.nodes] == ["a", "b", "c"]
    await ThreadRunner(max_workers=1).run(pipeline, DataCatalog({"log": assign(log)}))
    assert log == ["a", "b", "c"]


# -- loading and saving ---------------------------------------------------------------------


def slow_catalog(events: list[tuple[str, str]], *names: str) -> dict[str, AbstractDataset]:
    return {name: SlowDataset(1, 0.05, label=name, events=events) for name in names}


@pytest.mark.parametrize("policy", ["sequential", "thread", "process"])
async def test_inputs_are_loaded_concurrently(runner_of: RunnerFactory, policy: str) -> None:
    events: list[tuple[str, str]] = []
    catalog = DataCatalog(slow_catalog(events, "a", "b", "c"))
    pipeline = Pipeline([node(add3, ["a", "b", "c"], "s", name="sum")])
    assert await runner_of(policy).run(pipeline, catalog) == {"s": 3}
    assert [event for _, event in events[:3]] == ["load-start"] * 3
    assert max_overlap(events, "load") == 3


@pytest.mark.parametrize("policy", ["sequential", "thread", "process"])
async def test_is_async_false_loads_one_at_a_time(runner_of: RunnerFactory, policy: str) -> None:
    events: list[tuple[str, str]] = []
    catalog = DataCatalog(slow_catalog(events, "a", "b", "c"))
    pipeline = Pipeline([node(add3, ["a", "b", "c"], "s", name="sum")])
    assert await runner_of(policy, is_async=False).run(pipeline, catalog) == {"s": 3}
    assert max_overlap(events, "load") == 1
    assert [event for _, event in events] == ["load-start", "load-end"] * 3
    # ... in the node's input order.
    assert [label for label, event in events if event == "load-start"] == ["a", "b", "c"]


@pytest.mark.parametrize("is_async", [True, False])
async def test_outputs_are_saved_concurrently_unless_is_async_false(is_async: bool) -> None:
    events: list[tuple[str, str]] = []
    catalog = DataCatalog({
        "x": MemoryDataset(1),
        **{name: SlowDataset(delay=0.05, label=name, events=events) for name in "pqr"},
    })
    pipeline = Pipeline([node(triple, "x", ["p", "q", "r"], name="split")])
    assert await SequentialRunner(is_async=is_async).run(pipeline, catalog) == {}
    assert max_overlap(events, "save") == (3 if is_async else 1)
    assert [await catalog.load(name) for name in "pqr"] == [1, 2, 3]


async def test_an_input_named_twice_is_loaded_once() -> None:
    x = CountingDataset(4)
    pipeline = Pipeline([node(add, ["x", "x"], "y", name="twice")])
    assert await SequentialRunner().run(pipeline, DataCatalog({"x": x})) == {"y": 8}
    assert x.loads == 1


# -- releasing data -------------------------------------------------------------------------


class CountingDefaults(SequentialRunner):
    def __init__(self) -> None:
        super().__init__()
        self.created: dict[str, CountingDataset] = {}

    def create_default_dataset(self, name: str) -> AbstractDataset:
        self.created[name] = CountingDataset()
        return self.created[name]


async def test_intermediate_data_is_released_after_its_last_reader() -> None:
    x, a, out = CountingDataset(1), CountingDataset(), CountingDataset()
    runner = CountingDefaults()
    pipeline = Pipeline([
        node(inc, "x", "a", name="make_a"),
        node(inc, "a", "b", name="read_a_1"),
        node(inc, "a", "c", name="read_a_2"),
        node(add, ["b", "c"], "out", name="join"),
        node(inc, "x", "free", name="free_out"),
    ])
    result = await runner.run(pipeline, DataCatalog({"x": x, "a": a, "out": out}))
    assert result == {"free": 2}
    # Registered intermediate: saved, read by both readers, then released once.
    assert (a.saves, a.loads, a.releases) == (1, 2, 1)
    assert not await a.exists()
    # Default intermediates are released too.
    assert runner.created["b"].releases == 1
    assert runner.created["c"].releases == 1
    # Never a free input nor a free output.
    assert x.releases == 0 and await x.exists()
    assert out.releases == 0 and await out.load() == 6
    assert runner.created["free"].releases == 0


class ExistsProbe:
    """A hook that asks, before each node runs, which datasets still hold data."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.seen: dict[str, dict[str, bool]] = {}

    async def before_node_run(self, node: Any, catalog: DataCatalog) -> None:
        self.seen[node.name] = {name: await catalog.exists(name) for name in self.names}


async def test_release_happens_as_soon_as_no_remaining_node_needs_the_data() -> None:
    probe = ExistsProbe(["a", "b"])
    pipeline = Pipeline([
        node(inc, "x", "a", name="n1"),
        node(inc, "a", "b", name="n2"),
        node(inc, "b", "c", name="n3"),
        node(inc, "c", "d", name="n4"),
    ])
    await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(0)}), hooks=[probe])
    assert probe.seen["n2"] == {"a": True, "b": False}
    assert probe.seen["n3"] == {"a": False, "b": True}
    assert probe.seen["n4"] == {"a": False, "b": False}


# -- failure --------------------------------------------------------------------------------


class BoomError(Exception):
    pass


def fail(*inputs: Any) -> Any:
    raise BoomError("boom")


def record_then_inc(log: list[str], x: int, *, name: str) -> int:
    log.append(name)
    return x + 1


def failing_chain(log: list[str]) -> Pipeline:
    """n1 -> n2 (fails); n3 -> n4 independent of both, after them in pipeline order."""
    return Pipeline([
        node(functools.partial(record_then_inc, name="n1"), ["log", "x"], "a", name="n1"),
        node(fail, "a", "b", name="n2"),
        node(functools.partial(record_then_inc, name="n3"), ["log", "x"], "c", name="n3"),
        node(functools.partial(record_then_inc, name="n4"), ["log", "c"], "d", name="n4"),
    ])


async def test_a_failure_is_reported_once_with_its_hooks() -> None:
    hooks = RecordingHooks()
    log: list[str] = []
    catalog = DataCatalog({"x": SlowDataset(0, 0.01), "log": assign(log)})
    with pytest.raises(BoomError):
        await SequentialRunner().run(failing_chain(log), catalog, hooks=[hooks])
    assert [c.subject for c in hooks.named("on_node_error")] == ["n2"]
    assert [c.name for c in hooks.calls][-1] == "on_pipeline_error"
    assert "after_pipeline_run" not in hooks.names


async def test_a_failure_stops_the_run_before_any_new_node_starts() -> None:
    hooks = RecordingHooks()
    log: list[str] = []
    pipeline = failing_chain(log)
    assert [n.name for n in pipeline.nodes] == ["n1", "n2", "n3", "n4"]
    catalog = DataCatalog({"x": MemoryDataset(0), "log": assign(log)})
    with pytest.raises(BoomError):
        await SequentialRunner().run(pipeline, catalog, hooks=[hooks])
    assert log == ["n1"]
    assert [c.subject for c in hooks.named("before_node_run")] == ["n1", "n2"]


async def wait_forever(started: anyio.Event, log: list[str]) -> int:
    started.set()
    log.append("started")
    try:
        await anyio.sleep_forever()
    except anyio.get_cancelled_exc_class():
        log.append("cancelled")
        raise
    finally:
        log.append("finally")
    return 1  # pragma: no cover


async def fail_once_started(started: anyio.Event) -> int:
    await started.wait()
    raise BoomError("after the other node started")


@pytest.mark.parametrize("policy", ["thread", "process"])
async def test_a_failure_cancels_running_async_nodes(
    runner_of: RunnerFactory, policy: str
) -> None:
    started, log, after = anyio.Event(), [], []
    pipeline = Pipeline([
        node(wait_forever, ["started", "log"], "w", name="waiter"),
        node(fail_once_started, "started", "f", name="failer"),
        node(functools.partial(record_into, name="child"), ["after", "w"], "c", name="child"),
    ])
    catalog = DataCatalog({"started": assign(started), "log": assign(log),
                           "after": assign(after)})
    with pytest.raises(BoomError) as caught:
        await runner_of(policy).run(pipeline, catalog)
    assert any("'failer'" in note for note in caught.value.__notes__)
    assert log == ["started", "cancelled", "finally"]
    assert after == []


def chain_with_failure() -> Pipeline:
    return Pipeline([
        node(inc, "x", "a", name="n1"),
        node(inc, "a", "b", name="n2"),
        node(fail, "b", "c", name="n3"),
        node(inc, "c", "d", name="n4"),
        node(inc, "d", "e", name="n5"),
    ])


async def test_failure_log_gives_the_resume_advice(
    pipeloop_logs: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(BoomError):
        await SequentialRunner().run(chain_with_failure(), DataCatalog({"x": MemoryDataset(0)}))
    warnings = [r.getMessage() for r in pipeloop_logs.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "There are 3 nodes that have not run: n3, n4, n5." in warnings[0]
    # Everything upstream is in memory, so the advice starts from the very first node.
    assert '--from-nodes "n1"' in warnings[0]
    errors = [r.getMessage() for r in pipeloop_logs.records if r.levelno == logging.ERROR]
    assert any("n3" in message and "BoomError" in message for message in errors)


async def test_failure_log_says_one_node_in_the_singular(
    pipeloop_logs: pytest.LogCaptureFixture,
) -> None:
    pipeline = Pipeline([node(inc, "x", "a", name="n1"), node(fail, "a", "b", name="n2")])
    with pytest.raises(BoomError):
        await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(0)}))
    warnings = [r.getMessage() for r in pipeloop_logs.records if r.levelno == logging.WARNING]
    assert warnings[0].startswith("There is 1 node that has not run: n2.")


async def test_failure_log_advice_stops_at_persisted_data(
    pipeloop_logs: pytest.LogCaptureFixture,
) -> None:
    store: dict[str, Any] = {}
    catalog = DataCatalog({
        "x": MemoryDataset(0),
        "b": LambdaDataset(load=lambda: store["b"], save=lambda v: store.__setitem__("b", v)),
    })
    with pytest.raises(BoomError):
        await SequentialRunner().run(chain_with_failure(), catalog)
    assert '--from-nodes "n3"' in pipeloop_logs.text


async def test_failure_log_names_the_nodes_that_did_not_run(
    pipeloop_logs: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(BoomError):
        await SequentialRunner().run(chain_with_failure(), DataCatalog({"x": MemoryDataset(0)}))
    warning = next(r.getMessage() for r in pipeloop_logs.records if r.levelno == logging.WARNING)
    for name in ("n3", "n4", "n5"):
        assert name in warning


# -- cancellation from outside ----------------------------------------------------------------


def waiting_pipeline() -> Pipeline:
    return Pipeline([
        node(inc, "x", "a", name="before"),
        node(wait_forever, ["started", "log"], "w", name="waiter"),
        node(add, ["a", "w"], "out", name="after"),
    ])


def waiting_catalog(started: anyio.Event, log: list[str]) -> DataCatalog:
    return DataCatalog({"x": MemoryDataset(0), "started": assign(started), "log": assign(log)})


async def warm_up(runner: AbstractRunner) -> None:
    """Start the policy's per-loop machinery (a process pool starts a long-lived task on
    first use) so that counting tasks measures the run alone."""
    await runner.run(Pipeline([node(inc, "x", "y", name="warm")]),
                     DataCatalog({"x": MemoryDataset(0)}))


async def _expire_when(started: anyio.Event, scope: anyio.CancelScope) -> None:
    """Make ``scope``'s deadline expire as soon as ``started`` is set."""
    await started.wait()
    scope.deadline = anyio.current_time()


async def test_cancel_with_move_on_after(
    local_runner: AbstractRunner, pipeloop_logs: pytest.LogCaptureFixture
) -> None:
    await warm_up(local_runner)
    before = asyncio.all_tasks()
    started, log = anyio.Event(), []
    # The deadline expires once the waiting node runs, however long workers take to start.
    with anyio.move_on_after(120) as scope:
        async with anyio.create_task_group() as group:
            group.start_soon(_expire_when, started, scope)
            await local_runner.run(waiting_pipeline(), waiting_catalog(started, log))
    assert scope.cancelled_caught
    assert log == ["started", "cancelled", "finally"]
    assert asyncio.all_tasks() == before
    assert "You can resume the pipeline run" in pipeloop_logs.text


async def test_cancel_with_fail_after(local_runner: AbstractRunner) -> None:
    await warm_up(local_runner)
    before = asyncio.all_tasks()
    started, log = anyio.Event(), []
    with pytest.raises(TimeoutError):
        with anyio.fail_after(120) as scope:
            async with anyio.create_task_group() as group:
                group.start_soon(_expire_when, started, scope)
                await local_runner.run(waiting_pipeline(), waiting_catalog(started, log))
    assert log == ["started", "cancelled", "finally"]
    assert asyncio.all_tasks() == before


async def test_cancel_the_task_running_the_pipeline(local_runner: AbstractRunner) -> None:
    await warm_up(local_runner)
    before = asyncio.all_tasks()
    started, log = anyio.Event(), []
    task = asyncio.create_task(
        local_runner.run(waiting_pipeline(), waiting_catalog(started, log))
    )
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["started", "cancelled", "finally"]
    assert asyncio.all_tasks() == before


async def test_cancel_from_an_enclosing_task_group(local_runner: AbstractRunner) -> None:
    await warm_up(local_runner)
    before = asyncio.all_tasks()
    started, log = anyio.Event(), []
    async with anyio.create_task_group() as group:
        group.start_soon(local_runner.run, waiting_pipeline(), waiting_catalog(started, log))
        await started.wait()
        group.cancel_scope.cancel()
    assert log == ["started", "cancelled", "finally"]
    assert asyncio.all_tasks() == before


def cancel_scope_then_inc(scope: anyio.CancelScope, log: list[str], x: int) -> int:
    """Stands for the caller's deadline expiring while this (inline) node runs."""
    scope.cancel()
    log.append("canceller")
    return x + 1


async def test_cancellation_during_an_inline_node_stops_before_the_next_one() -> None:
    log: list[str] = []
    pipeline = Pipeline([
        node(functools.partial(record_then_inc, name="n0"), ["log", "x"], "a", name="n0"),
        node(cancel_scope_then_inc, ["scope", "log", "a"], "b", name="n1"),
        node(functools.partial(record_then_inc, name="n2"), ["log", "b"], "c", name="n2"),
        node(functools.partial(record_then_inc, name="n3"), ["log", "c"], "d", name="n3"),
    ])
    with anyio.CancelScope() as scope:
        catalog = DataCatalog({"scope": assign(scope), "log": assign(log),
                               "x": MemoryDataset(0)})
        await SequentialRunner().run(pipeline, catalog)
    assert scope.cancelled_caught
    assert log == ["n0", "canceller"]


# -- retries --------------------------------------------------------------------------------


def bump(path: str) -> int:
    """Count one attempt in the file at ``path``; return the attempt's number."""
    counter = Path(path)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    return attempt


def flaky(path: str, failures: int) -> str:
    attempt = bump(path)
    if attempt <= failures:
        raise ConnectionError(f"attempt {attempt} failed")
    return f"ok after {attempt}"


async def async_flaky(path: str, failures: int) -> str:
    return flaky(path, failures)


def bad_shape_counting(path: str, failures: int) -> int:
    return bump(path)


def attempts(path: Path) -> int:
    return int(path.read_text()) if path.exists() else 0


def flaky_catalog(counter: Path, failures: int) -> DataCatalog:
    catalog = DataCatalog({"path": MemoryDataset(str(counter))})
    catalog.add_parameters({"failures": failures})
    return catalog


async def test_retries_with_backoff_log_each_attempt(
    local_runner: AbstractRunner, tmp_path: Path, pipeloop_logs: pytest.LogCaptureFixture
) -> None:
    counter = tmp_path / "attempts"
    pipeline = Pipeline([node(flaky, ["path", "params:failures"], "out", name="flaky",
                              retries=3, retry_delay=0.01)])
    result = await local_runner.run(pipeline, flaky_catalog(counter, 2))
    assert result == {"out": "ok after 3"}
    assert attempts(counter) == 3
    retried = [r.getMessage() for r in pipeloop_logs.records if "retrying" in r.getMessage()]
    assert len(retried) == 2
    assert "'flaky' failed (attempt 1 of 4)" in retried[0]
    assert "ConnectionError('attempt 1 failed')" in retried[0]
    assert "retrying in 0.01 s" in retried[0]
    assert "'flaky' failed (attempt 2 of 4)" in retried[1]
    assert "retrying in 0.02 s" in retried[1]  # exponential backoff


async def test_async_nodes_are_retried(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    pipeline = Pipeline([node(async_flaky, ["path", "params:failures"], "out", name="flaky",
                              retries=2)])
    result = await ThreadRunner().run(pipeline, flaky_catalog(counter, 2))
    assert result == {"out": "ok after 3"}


async def test_retries_exhausted_raise_the_last_error(
    local_runner: AbstractRunner, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    hooks = RecordingHooks()
    pipeline = Pipeline([node(flaky, ["path", "params:failures"], "out", name="flaky",
                              retries=2)])
    with pytest.raises(ConnectionError, match="attempt 3 failed") as caught:
        await local_runner.run(pipeline, flaky_catalog(counter, 10), hooks=[hooks])
    assert attempts(counter) == 3
    assert any("'flaky'" in note for note in caught.value.__notes__)
    assert len(hooks.named("on_node_error")) == 1
    assert len(hooks.named("before_node_run")) == 1


async def test_exceptions_outside_retry_on_are_not_retried(
    local_runner: AbstractRunner, tmp_path: Path, pipeloop_logs: pytest.LogCaptureFixture
) -> None:
    counter = tmp_path / "attempts"
    pipeline = Pipeline([node(flaky, ["path", "params:failures"], "out", name="flaky",
                              retries=3, retry_on=(KeyError, TimeoutError))])
    with pytest.raises(ConnectionError):
        await local_runner.run(pipeline, flaky_catalog(counter, 10))
    assert attempts(counter) == 1
    assert "retrying" not in pipeloop_logs.text


async def test_output_shape_errors_are_never_retried(
    local_runner: AbstractRunner, tmp_path: Path
) -> None:
    counter = tmp_path / "attempts"
    pipeline = Pipeline([node(bad_shape_counting, ["path", "params:failures"], ["p", "q"],
                              name="shape", retries=3, retry_on=(Exception,))])
    with pytest.raises(NodeError, match="Node 'shape' declares 2 outputs"):
        await local_runner.run(pipeline, flaky_catalog(counter, 0))
    assert attempts(counter) == 1


def mutate_then_fail_once(path: str, items: list[int]) -> int:
    attempt = bump(path)
    items.append(attempt)  # a careless node mutates its input before failing
    if attempt == 1:
        raise ConnectionError("first attempt failed")
    return len(items)


@pytest.mark.parametrize("policy", ["sequential", "thread", "process"])
async def test_each_attempt_gets_the_inputs_as_loaded(
    runner_of: RunnerFactory, policy: str, tmp_path: Path
) -> None:
    pipeline = Pipeline([node(mutate_then_fail_once, ["path", "items"], "n", name="careless",
                              retries=1)])
    catalog = DataCatalog({"path": MemoryDataset(str(tmp_path / "attempts")),
                           "items": MemoryDataset([0, 0])})
    assert await runner_of(policy).run(pipeline, catalog) == {"n": 3}


async def hang_on_first_attempt(path: str, failures: int) -> str:
    attempt = bump(path)
    if attempt <= failures:
        await anyio.sleep_forever()
    return f"ok after {attempt}"


async def test_a_timed_out_attempt_is_retried(tmp_path: Path) -> None:
    counter = tmp_path / "attempts"
    pipeline = Pipeline([node(hang_on_first_attempt, ["path", "params:failures"], "out",
                              name="hangs", timeout=0.05, retries=1)])
    result = await SequentialRunner().run(pipeline, flaky_catalog(counter, 1))
    assert result == {"out": "ok after 2"}


# -- timeouts -------------------------------------------------------------------------------


async def test_async_node_is_cancelled_at_its_timeout(local_runner: AbstractRunner) -> None:
    started, log = anyio.Event(), []
    pipeline = Pipeline([node(wait_forever, ["started", "log"], "w", name="slowpoke",
                              timeout=0.1)])
    with pytest.raises(NodeTimeoutError) as caught:
        await local_runner.run(pipeline, DataCatalog({"started": assign(started),
                                                      "log": assign(log)}))
    message = str(caught.value)
    assert "Node 'slowpoke' did not finish within its timeout of 0.1 s." in message
    assert isinstance(caught.value, TimeoutError)
    assert isinstance(caught.value, NodeError)
    assert log == ["started", "cancelled", "finally"]


def sleep_then_return(x: int) -> int:
    import time

    time.sleep(0.3)
    return x


async def test_sync_node_past_its_timeout_fails_under_sequential_runner() -> None:
    pipeline = Pipeline([node(sleep_then_return, "x", "y", name="late", timeout=0.05)])
    with pytest.raises(NodeTimeoutError):
        await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(1)}))


class BlockedLoad(AbstractDataset):
    """A plain ``_load`` that blocks its thread until the test sets ``release`` (a FIFO, a
    stale mount); ``entered`` is set once it blocks."""

    def __init__(self) -> None:
        self.entered, self.release = threading.Event(), threading.Event()

    def _load(self) -> int:
        self.entered.set()
        self.release.wait()
        return 1

    def _save(self, data: Any) -> None:
        raise NotImplementedError

    def _describe(self) -> dict[str, Any]:
        return {}


class BlockedSave(AbstractDataset):
    """An ``async def _save`` that never returns by itself."""

    def _load(self) -> Any:
        raise NotImplementedError

    async def _save(self, data: Any) -> None:
        await anyio.sleep_forever()

    def _describe(self) -> dict[str, Any]:
        return {}


async def test_a_timeout_covers_a_load_blocked_in_its_thread(
    local_runner: AbstractRunner
) -> None:
    blocked = BlockedLoad()
    pipeline = Pipeline([node(no_fail, "x", "y", name="reads", timeout=0.2)])
    try:
        with pytest.raises(NodeTimeoutError) as caught:
            await local_runner.run(pipeline, DataCatalog({"x": blocked}))
        # The run did not wait for the thread: it is still blocked in the load.
        assert blocked.entered.is_set() and not blocked.release.is_set()
    finally:
        blocked.release.set()
    assert str(caught.value).startswith(
        "Node 'reads' did not finish within its timeout of 0.2 s: it was still loading "
        "its inputs.")


@pytest.mark.parametrize("runner", [SequentialRunner(), ThreadRunner()], ids=repr)
async def test_a_timeout_covers_the_saves(runner: AbstractRunner) -> None:
    # The save never ends; the margin is for the call before it, under any load.
    pipeline = Pipeline([node(no_fail, "x", "y", name="writes", timeout=3)])
    report = RunReport()
    with pytest.raises(NodeTimeoutError, match="it was still saving its outputs"):
        await runner.run(pipeline, DataCatalog({"x": MemoryDataset(1),
                                                "y": BlockedSave()}), report=report)
    assert report.failed_nodes == ["writes"]


async def test_a_callers_deadline_does_not_wait_for_a_blocked_load() -> None:
    blocked = BlockedLoad()
    pipeline = Pipeline([node(no_fail, "x", "y", name="reads")])
    report = RunReport()
    try:
        with anyio.move_on_after(0.2) as scope:
            await SequentialRunner().run(pipeline, DataCatalog({"x": blocked}),
                                         report=report)
        assert scope.cancelled_caught
        assert not blocked.release.is_set()
    finally:
        blocked.release.set()
    assert report.status is RunStatus.CANCELLED
    assert report.resume_nodes == ["reads"]


def no_fail(x: int) -> int:
    return x


async def test_timeout_does_not_affect_a_fast_node(local_runner: AbstractRunner) -> None:
    pipeline = Pipeline([node(no_fail, "x", "y", name="quick", timeout=30)])
    assert await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(1)})) == {"y": 1}


# -- keep_going -----------------------------------------------------------------------------


class OtherError(Exception):
    pass


def fail_other(*inputs: Any) -> Any:
    raise OtherError("other")


class Persisted:
    """A persisted store for ``LambdaDataset`` entries."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def dataset(self, name: str) -> LambdaDataset:
        return LambdaDataset(load=functools.partial(self.data.__getitem__, name),
                             save=functools.partial(self.data.__setitem__, name))


def branches() -> Pipeline:
    """Two failing branches, one healthy branch, one join that depends on a failure."""
    return Pipeline([
        node(inc, "x", "a", name="a"),
        node(fail, "a", "b", name="fails_1"),
        node(inc, "b", "c", name="after_fail_1"),
        node(inc, "x", "d", name="healthy_1"),
        node(inc, "d", "e", name="healthy_2"),
        node(fail_other, "x", "f", name="fails_2"),
        node(add, ["c", "e"], "g", name="join"),
        node(inc, "e", "h", name="healthy_3"),
    ])


async def test_keep_going_runs_every_independent_node(local_runner: AbstractRunner) -> None:
    store = Persisted()
    hooks = RecordingHooks()
    catalog = DataCatalog({"x": MemoryDataset(0), "h": store.dataset("h"),
                           "e": store.dataset("e")})
    with pytest.raises(NodesFailedError) as caught:
        await local_runner.run(branches(), catalog, hooks=[hooks], keep_going=True)
    error = caught.value
    ran = {c.subject for c in hooks.named("after_node_run")}
    assert ran == {"a", "healthy_1", "healthy_2", "healthy_3"}
    started = {c.subject for c in hooks.named("before_node_run")}
    assert "after_fail_1" not in started and "join" not in started
    assert store.data == {"e": 2, "h": 3}

    assert sorted(error.failed_nodes) == ["fails_1", "fails_2"]
    assert sorted(type(exc).__name__ for exc in error.exceptions) == ["BoomError", "OtherError"]
    for exc in error.exceptions:
        assert any("pipeloop: raised while running node" in note for note in exc.__notes__)
    assert "fails_1" in str(error) and "fails_2" in str(error)
    # The resume advice re-runs every failed and skipped node.
    resumed = {n.name for n in branches().from_nodes(*error.resume_nodes).nodes}
    assert {"fails_1", "fails_2", "after_fail_1", "join"} <= resumed
    assert len(hooks.named("on_pipeline_error")) == 1
    assert hooks.named("on_pipeline_error")[0].kwargs["error"] is error


async def test_keep_going_error_works_with_except_star() -> None:
    boom: list[BaseException] = []
    other: list[BaseException] = []
    try:
        await SequentialRunner().run(branches(), DataCatalog({"x": MemoryDataset(0)}),
                                     keep_going=True)
    except* BoomError as group:
        boom.extend(group.exceptions)
    except* OtherError as group:
        other.extend(group.exceptions)
    assert [str(exc) for exc in boom] == ["boom"]
    assert [str(exc) for exc in other] == ["other"]


async def test_keep_going_without_failures_returns_the_outputs(
    local_runner: AbstractRunner,
) -> None:
    pipeline = Pipeline([node(inc, "x", "a", name="one"), node(inc, "a", "b", name="two")])
    result = await local_runner.run(pipeline, DataCatalog({"x": MemoryDataset(0)}),
                                    keep_going=True)
    assert result == {"b": 2}


async def test_without_keep_going_the_first_error_is_raised_unwrapped() -> None:
    with pytest.raises(BoomError):
        await SequentialRunner().run(branches(), DataCatalog({"x": MemoryDataset(0)}))


async def test_keep_going_skips_every_descendant_of_a_failure_once() -> None:
    """A node below two failures is skipped (and counted) once; the run still ends."""
    pipeline = Pipeline([
        node(fail, "x", "a", name="f1"),
        node(fail, "x", "b", name="f2"),
        node(add, ["a", "b"], "c", name="below_both"),
        node(inc, "c", "d", name="further_below"),
        node(inc, "x", "e", name="fine"),
    ])
    with pytest.raises(NodesFailedError) as caught:
        await ThreadRunner().run(pipeline, DataCatalog({"x": MemoryDataset(0)}),
                                 keep_going=True)
    assert sorted(caught.value.failed_nodes) == ["f1", "f2"]
    assert caught.value.resume_nodes == ["f1", "f2"]


# -- logs -----------------------------------------------------------------------------------


async def test_kedro_log_lines(pipeloop_logs: pytest.LogCaptureFixture) -> None:
    pipeline = Pipeline([node(inc, "x", "a", name="first"), node(inc, "a", "b")])
    await SequentialRunner().run(pipeline, DataCatalog({"x": MemoryDataset(0)}))
    messages = [r.getMessage() for r in pipeloop_logs.records]
    assert "Loading data from `x` (MemoryDataset)..." in messages
    assert "Running node: first: inc([x]) -> [a]" in messages
    assert "Running node: inc([a]) -> [b]" in messages
    assert "Saving data to `a` (MemoryDataset)..." in messages
    assert "Completed 1 out of 2 tasks" in messages
    assert "Completed 2 out of 2 tasks" in messages
    assert messages[-1] == "Pipeline execution completed successfully."


# -- generator nodes, transcoding, confirms --------------------------------------------------


def _counting_up(n: int, trace: list[str]) -> Any:
    for i in range(n):
        trace.append(f"yield {i}")
        yield i


async def _async_counting_up(n: int, trace: list[str]) -> Any:
    for i in range(n):
        trace.append(f"yield {i}")
        yield i


def _recording(trace: list[str]) -> LambdaDataset:
    return LambdaDataset(load=None, save=lambda data: trace.append(f"save {data}"))


@pytest.mark.parametrize("func", [_counting_up, _async_counting_up])
async def test_a_generator_node_saves_each_chunk_before_the_next(
    local_runner: AbstractRunner, func: Callable[..., Any]
) -> None:
    if isinstance(local_runner, ParallelRunner) and func is _counting_up:
        pytest.skip("the trace list lives in this process; chunks are pulled here anyway")
    trace: list[str] = []
    catalog = DataCatalog({"n": MemoryDataset(3), "trace": MemoryDataset(trace, copy_mode="assign"),
                           "out": _recording(trace)})
    pipe = Pipeline([node(func, ["n", "trace"], "out", name="stream")])
    report = RunReport()
    await local_runner.run(pipe, catalog, report=report)
    assert trace == ["yield 0", "save 0", "yield 1", "save 1", "yield 2", "save 2"]
    assert report.completed_nodes == ["stream"]


def _fails_after_one(n: int) -> Any:
    yield n
    raise ValueError("half way")


async def test_a_generator_node_is_never_retried_after_saving_chunks() -> None:
    trace: list[str] = []
    catalog = DataCatalog({"n": MemoryDataset(7), "out": _recording(trace)})
    pipe = Pipeline([node(_fails_after_one, "n", "out", name="stream", retries=3)])
    with pytest.raises(ValueError, match="half way"):
        await SequentialRunner().run(pipe, catalog)
    assert trace == ["save 7"]  # saved once, not once per attempt


def _as_text(value: int) -> str:
    return str(value)


def _shout(text: str) -> str:
    return text.strip() + "!"


async def test_a_reader_of_another_format_waits_for_the_writer(tmp_path: Path) -> None:
    from pipeloop.datasets import JSONDataset, TextDataset

    path = tmp_path / "shared.json"
    catalog = DataCatalog({"x": SlowDataset(41, delay=0.05),
                           "ds@json": JSONDataset(str(path)), "ds@text": TextDataset(str(path))})
    pipe = Pipeline([node(_shout, "ds@text", "y", name="read"),
                     node(_as_text, "x", "ds@json", name="write")])
    outputs = await ThreadRunner().run(pipe, catalog)
    assert outputs == {"y": '"41"!'}


async def test_unregistered_formats_of_one_dataset_share_one_memory_dataset() -> None:
    pipe = Pipeline([node(_as_text, "x", "ds@str", name="write"),
                     node(_shout, "ds@text", "y", name="read")])
    outputs = await SequentialRunner().run(pipe, DataCatalog({"x": MemoryDataset(5)}))
    assert outputs == {"y": "5!"}


class _Confirmable(MemoryDataset):
    def __init__(self, trace: list[str]) -> None:
        super().__init__()
        self.trace = trace

    def confirm(self) -> None:
        self.trace.append("confirm")


async def test_confirms_are_called_once_the_outputs_are_saved() -> None:
    trace: list[str] = []
    catalog = DataCatalog({"x": MemoryDataset(1), "y": _recording(trace),
                           "marker": _Confirmable(trace)})
    pipe = Pipeline([node(_as_text, "x", "y", name="n", confirms="marker")])
    await SequentialRunner().run(pipe, catalog)
    assert trace == ["save 1", "confirm"]
