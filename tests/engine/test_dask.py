"""``DaskRunner`` on real Dask ``LocalCluster``s: one of threads, one of processes.

Both clusters are module-scoped and run their own event loop in a background thread; each
run connects to them by address (or through a client made in the test's own loop), so the
tests also cover the connect/close path of every run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

distributed = pytest.importorskip("distributed")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from pipeloop import (  # noqa: E402
    AbstractDataset,
    DataCatalog,
    LambdaDataset,
    MemoryDataset,
    Pipeline,
    SequentialRunner,
    node,
)
from pipeloop.engine.runners.dask import DaskRunner  # noqa: E402
from pipeloop.errors import (  # noqa: E402
    DatasetError,
    NodesFailedError,
    NodeTimeoutError,
    RunnerError,
)
from pipeloop.testing import CountingDataset  # noqa: E402

# -- clusters -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def thread_cluster() -> Iterator[Any]:
    """Two workers as threads of this process (so tests can share Events with nodes), each
    with one "GPU" resource."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=2, processes=False, dashboard_address=":0",
        resources={"GPU": 1},
    ) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def process_cluster() -> Iterator[Any]:
    """Two worker processes, as a user's cluster would be."""
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
    ) as cluster:
        yield cluster


@pytest.fixture(params=["thread_cluster", "process_cluster"])
def cluster(request: pytest.FixtureRequest) -> Any:
    """Each cluster in turn."""
    return request.getfixturevalue(request.param)


def run_keys(cluster: Any, *prefixes: str) -> list[str]:
    """Keys the cluster's scheduler still knows whose node name starts with a prefix."""
    return [str(key) for key in list(cluster.scheduler.tasks)
            if str(key).startswith(prefixes)]


async def wait_until_forgotten(cluster: Any, *prefixes: str, within: float = 5.0) -> list[str]:
    """Poll until no task of the given nodes is left on the scheduler (``client.cancel``
    only sends a message); return the keys still there at the end."""
    deadline = time.monotonic() + within
    while (keys := run_keys(cluster, *prefixes)) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    return keys


# -- nodes and datasets (module level: they travel to worker processes) -------------------------


def add(a: int, b: int) -> int:
    return a + b


def double(x: int) -> int:
    return 2 * x


def split(x: int) -> tuple[int, int]:
    return x - 1, x + 1


def as_dict(low: int, high: int) -> dict[str, int]:
    return {"total": low + high, "spread": high - low}


async def async_scale(x: int, k: int) -> int:
    await asyncio.sleep(0.01)
    return x * k


async def where_am_i(_: Any) -> str:
    await asyncio.sleep(0)
    worker = distributed.get_worker()
    return f"{worker.address} {os.getpid()}"


def gpu_left(_: Any) -> float:
    return float(distributed.get_worker().state.available_resources["GPU"])


class Boom(Exception):
    """A user's own exception type."""


def explode(_: Any) -> int:
    raise Boom("kaboom")


# Nodes of the thread cluster share these with the tests (functions travel by reference).
STARTED, RELEASE = threading.Event(), threading.Event()
ATTEMPTS: list[int] = []


@pytest.fixture
def gate() -> Iterator[None]:
    """Arms STARTED/RELEASE for one test; releases every blocked node at the end."""
    STARTED.clear()
    RELEASE.clear()
    yield
    RELEASE.set()


def blocked(x: int) -> int:
    STARTED.set()
    RELEASE.wait(10)
    return x


def explode_once_blocked(_: Any) -> int:
    STARTED.wait(10)
    raise Boom("kaboom")


def always_fails(x: int) -> int:
    ATTEMPTS.append(x)
    raise Boom("again")


def fails_twice(x: int) -> int:
    ATTEMPTS.append(x)
    if len(ATTEMPTS) < 3:
        raise ConnectionError("flaky")
    return x


class PickleFile(AbstractDataset):
    """A tiny file dataset that notes the process of every load and save beside the file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _note(self, what: str) -> None:
        with self.path.with_suffix(".log").open("a") as log:
            log.write(f"{what} {os.getpid()}\n")

    def _load(self) -> Any:
        self._note("load")
        return pickle.loads(self.path.read_bytes())

    def _save(self, data: Any) -> None:
        self._note("save")
        self.path.write_bytes(pickle.dumps(data))

    async def _exists(self) -> bool:
        return self.path.exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def notes(self) -> list[tuple[str, int]]:
        lines = self.path.with_suffix(".log").read_text().split()
        return [(lines[i], int(lines[i + 1])) for i in range(0, len(lines), 2)]


def mixed_pipeline() -> Pipeline:
    return Pipeline([
        node(add, ["x", "params:k"], "y", name="add"),
        node(split, "y", ["low", "high"], name="split"),
        node(as_dict, ["low", "high"], {"total": "total", "spread": "spread"}, name="as_dict"),
        node(async_scale, ["total", "params:k"], "scaled", name="async_scale"),
        node(double, "stored_in", "stored_out", name="double_file"),
        node(add, ["stored_out", "spread"], "mixed", name="mix"),
    ])


def mixed_catalog(tmp_path: Path) -> DataCatalog:
    stored_in = PickleFile(tmp_path / "in.pkl")
    stored_in.path.write_bytes(pickle.dumps(20))
    catalog = DataCatalog({"x": MemoryDataset(1), "stored_in": stored_in,
                           "stored_out": PickleFile(tmp_path / "out.pkl")})
    catalog.add_parameters({"k": 3})
    return catalog


# -- same results as the sequential policy --------------------------------------------------------


async def test_same_outputs_as_sequential(cluster: Any, tmp_path: Path) -> None:
    (tmp_path / "sequential").mkdir()
    expected = await SequentialRunner().run(mixed_pipeline(),
                                            mixed_catalog(tmp_path / "sequential"))
    catalog = mixed_catalog(tmp_path)
    outputs = await DaskRunner(cluster.scheduler_address).run(mixed_pipeline(), catalog)
    assert outputs == expected == {"scaled": 24, "mixed": 42}
    assert await catalog.load("stored_out") == 40


async def test_file_datasets_are_read_and_written_by_workers(process_cluster: Any,
                                                             tmp_path: Path) -> None:
    catalog = mixed_catalog(tmp_path)
    await DaskRunner(process_cluster.scheduler_address).run(mixed_pipeline(), catalog)
    notes = catalog["stored_in"].notes() + catalog["stored_out"].notes()  # type: ignore[attr-defined]
    assert sorted(what for what, _ in notes) == ["load", "load", "save"]
    worker_pids = {worker.pid for worker in process_cluster.scheduler.workers.values()}
    assert all(pid != os.getpid() and pid in worker_pids for _, pid in notes)


async def test_async_nodes_run_on_workers(process_cluster: Any) -> None:
    pipe = Pipeline([node(where_am_i, "x", "where", name="where_am_i")])
    outputs = await DaskRunner(process_cluster.scheduler_address).run(
        pipe, DataCatalog({"x": MemoryDataset(0)})
    )
    address, pid = outputs["where"].split()
    assert address in process_cluster.scheduler_info["workers"]
    assert int(pid) != os.getpid()


# -- data stays on the cluster ----------------------------------------------------------------


class RecordingGathers:
    def __init__(self) -> None:
        self.keys: list[str] = []


@pytest.fixture
def gathered(monkeypatch: pytest.MonkeyPatch) -> RecordingGathers:
    """Records the key of every future fetched to this process through any client."""
    record = RecordingGathers()
    original = distributed.Client._gather

    async def spy(self: Any, futures: Any, *args: Any, **kwargs: Any) -> Any:
        record.keys.extend(str(future.key) for future in futures)
        return await original(self, futures, *args, **kwargs)

    monkeypatch.setattr(distributed.Client, "_gather", spy)
    return record


class TypesSeen:
    """Hooks noting what the scheduler holds where other runners hold data."""

    def __init__(self) -> None:
        self.types: set[str] = set()

    def after_dataset_loaded(self, data: Any) -> None:
        self.types.add(type(data).__name__)

    def after_node_run(self, outputs: dict[str, Any]) -> None:
        self.types.update(type(data).__name__ for data in outputs.values())


async def test_intermediate_data_never_reaches_the_driver(
    thread_cluster: Any, gathered: RecordingGathers, tmp_path: Path
) -> None:
    raw, middle, kept = CountingDataset([1, 2, 3]), CountingDataset(), CountingDataset()
    pipe = Pipeline([
        node(sum, "raw", "total", name="sum_raw"),
        node(split, "total", ["low", "high"], name="split_total"),
        node(add, ["low", "high"], "middle", name="add_parts"),
        node(double, "middle", "kept", name="double_middle"),
        node(add, ["middle", "middle"], "free", name="twice_middle"),
    ])
    catalog = DataCatalog({"raw": raw, "middle": middle, "kept": kept})
    seen = TypesSeen()
    outputs = await DaskRunner(thread_cluster.scheduler_address).run(pipe, catalog, hooks=[seen])

    assert outputs == {"free": 24}
    assert (raw.loads, raw.saves) == (1, 0)  # loaded once, to be scattered
    assert (middle.loads, middle.saves) == (0, 0)  # intermediate: stayed on the cluster
    assert (kept.saves, await kept.load()) == (1, 24)  # a user's memory output is filled in
    assert seen.types == {"Future"}
    assert sorted(key.split("-")[0] for key in gathered.keys) == ["double_middle", "twice_middle"]


async def test_futures_are_dropped_once_no_node_needs_them(thread_cluster: Any) -> None:
    async with distributed.Client(thread_cluster.scheduler_address, asynchronous=True,
                                  set_as_default=False) as client:
        held_before_last: list[str] = []

        class Snapshot:
            async def before_node_run(self, node: Any) -> None:
                if node.name == "last":
                    await anyio.sleep(0.1)  # future releases travel as loop callbacks
                    held_before_last.extend(str(key) for key in client.refcount)

        pipe = Pipeline([
            node(double, "x", "a", name="first"),
            node(double, "a", "b", name="second"),
            node(double, "b", "c", name="last"),
        ])
        outputs = await DaskRunner(client=client).run(
            pipe, DataCatalog({"x": MemoryDataset(1)}), hooks=[Snapshot()]
        )
        assert outputs == {"c": 8}
        assert not [key for key in held_before_last if key.startswith("first-")]
        assert [key for key in held_before_last if key.startswith("second-")]
        assert client.status == "running"  # a given client is left open...
        await anyio.sleep(0.1)
        assert not dict(client.refcount)  # ...holding no future of the run


# -- failure, cancellation, timeouts, retries -----------------------------------------------------


async def test_node_error_keeps_its_type(cluster: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pipeloop")
    pipe = Pipeline([
        node(double, "x", "y", name="fine"),
        node(explode, "y", "z", name="explode"),
        node(double, "z", "w", name="after"),
    ])
    with pytest.raises(Boom, match="kaboom") as info:
        await DaskRunner(cluster.scheduler_address).run(pipe, DataCatalog({"x": MemoryDataset(1)}))
    assert "pipeloop: raised while running node 'explode'." in info.value.__notes__
    assert '--from-nodes "fine"' in caplog.text


async def test_failure_cancels_the_runs_other_tasks(thread_cluster: Any, gate: None) -> None:
    pipe = Pipeline([
        node(blocked, "x", "slow", name="fail_blocked"),
        node(double, "slow", "never", name="fail_never"),
        node(explode_once_blocked, "x", "boom", name="fail_explode"),
    ])
    with pytest.raises(Boom):
        await DaskRunner(thread_cluster.scheduler_address).run(
            pipe, DataCatalog({"x": MemoryDataset(1)})
        )
    assert await wait_until_forgotten(thread_cluster, "fail_") == []


@pytest.mark.parametrize("connect", ["address", "client"])
async def test_cancelling_run_cancels_its_tasks_on_the_cluster(
    thread_cluster: Any, gate: None, connect: str
) -> None:
    pipe = Pipeline([
        node(blocked, "x", "slow", name="cancel_blocked"),
        node(double, "slow", "never", name="cancel_never"),
        node(blocked, "x", "slow2", name="cancel_blocked_too"),
    ])
    async with distributed.Client(thread_cluster.scheduler_address, asynchronous=True,
                                  set_as_default=False) as client:
        runner = (DaskRunner(thread_cluster.scheduler_address) if connect == "address"
                  else DaskRunner(client=client))
        async with anyio.create_task_group() as group:
            group.start_soon(runner.run, pipe, DataCatalog({"x": MemoryDataset(1)}))
            while not STARTED.is_set():
                await anyio.sleep(0.01)
            assert run_keys(thread_cluster, "cancel_blocked")  # executing on the cluster now
            group.cancel_scope.cancel()
        # Right away, while the blocked functions still hold their worker threads:
        assert await wait_until_forgotten(thread_cluster, "cancel_", within=1) == []
        assert not client.futures


async def test_timeout_cancels_the_task(thread_cluster: Any, gate: None) -> None:
    pipe = Pipeline([node(blocked, "x", "y", name="timeout_blocked", timeout=0.3)])
    with pytest.raises(NodeTimeoutError, match="Dask task was cancelled"):
        await DaskRunner(thread_cluster.scheduler_address).run(
            pipe, DataCatalog({"x": MemoryDataset(1)})
        )
    assert await wait_until_forgotten(thread_cluster, "timeout_") == []


async def test_keep_going_runs_the_other_branch(thread_cluster: Any) -> None:
    kept = MemoryDataset()
    pipe = Pipeline([
        node(explode, "x", "a", name="broken"),
        node(double, "x", "b", name="healthy"),
    ])
    with pytest.raises(NodesFailedError) as info:
        await DaskRunner(thread_cluster.scheduler_address).run(
            pipe, DataCatalog({"x": MemoryDataset(1), "b": kept}), keep_going=True
        )
    assert info.value.failed_nodes == ["broken"]
    assert isinstance(info.value.exceptions[0], Boom)
    assert await kept.load() == 2  # what the healthy branch made is fetched, as locally


async def test_retries_go_to_dask_not_also_to_the_scheduler(
    thread_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pipeloop")
    ATTEMPTS.clear()
    pipe = Pipeline([node(always_fails, "x", "y", name="retried", retries=2)])
    with pytest.raises(Boom):
        await DaskRunner(thread_cluster.scheduler_address).run(
            pipe, DataCatalog({"x": MemoryDataset(1)})
        )
    assert len(ATTEMPTS) == 3  # 1 + 2 Dask retries, not 3 x 3
    assert "retrying" not in caplog.text


async def test_retries_dask_cannot_express_stay_with_the_scheduler(
    thread_cluster: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="pipeloop")
    ATTEMPTS.clear()
    pipe = Pipeline([node(fails_twice, "x", "y", name="flaky", retries=2,
                          retry_on=(ConnectionError,))])
    outputs = await DaskRunner(thread_cluster.scheduler_address).run(
        pipe, DataCatalog({"x": MemoryDataset(1)})
    )
    assert outputs == {"y": 1}
    assert len(ATTEMPTS) == 3
    assert caplog.text.count("retrying") == 2


async def test_none_output_is_refused(thread_cluster: Any) -> None:
    pipe = Pipeline([node(lambda x: None, "x", "y", name="returns_none")])
    with pytest.raises(DatasetError, match="returned None for 'y'"):
        await DaskRunner(thread_cluster.scheduler_address).run(
            pipe, DataCatalog({"x": MemoryDataset(1)})
        )


# -- placement and clients ------------------------------------------------------------------------


async def test_tags_ask_for_resources(thread_cluster: Any) -> None:
    pipe = Pipeline([
        node(gpu_left, "x", "on_gpu", name="gpu_node", tags="gpu"),
        node(gpu_left, "on_gpu", "plain", name="plain_node"),
    ])
    runner = DaskRunner(thread_cluster.scheduler_address, resources_by_tag={"gpu": {"GPU": 1}})
    outputs = await runner.run(pipe, DataCatalog({"x": MemoryDataset(0)}))
    assert outputs == {"plain": 1.0}  # the GPU was free again for the untagged node
    assert await runner.run(pipe.only_nodes("gpu_node"),
                            DataCatalog({"x": MemoryDataset(0)})) == {"on_gpu": 0.0}


async def test_lambda_datasets_stay_in_this_process(thread_cluster: Any) -> None:
    saved: list[Any] = []
    catalog = DataCatalog({"x": LambdaDataset(lambda: 21, None),
                           "y": LambdaDataset(None, saved.append)})
    pipe = Pipeline([node(double, "x", "y", name="lambda_io")])
    await DaskRunner(thread_cluster.scheduler_address).run(pipe, catalog)
    assert saved == [42]


async def test_two_runs_of_one_runner_at_once(thread_cluster: Any) -> None:
    runner = DaskRunner(thread_cluster.scheduler_address)
    pipe = Pipeline([node(async_scale, ["x", "params:k"], "y", name="scale")])
    results: dict[int, Any] = {}

    async def one(x: int) -> None:
        catalog = DataCatalog({"x": MemoryDataset(x)})
        catalog.add_parameters({"k": 10})
        results[x] = await runner.run(pipe, catalog)

    async with anyio.create_task_group() as group:
        for x in range(4):
            group.start_soon(one, x)
    assert results == {x: {"y": 10 * x} for x in range(4)}


def test_a_plain_client_lends_its_scheduler(thread_cluster: Any) -> None:
    with distributed.Client(thread_cluster.scheduler_address, set_as_default=False) as client:
        outputs = DaskRunner(client=client).run_sync(
            Pipeline([node(double, "x", "y", name="sync_client")]),
            DataCatalog({"x": MemoryDataset(4)}),
        )
        assert outputs == {"y": 8}
        assert client.status == "running"


def test_without_address_a_local_cluster_is_started_per_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="pipeloop")
    runner = DaskRunner(cluster_kwargs={"n_workers": 1, "processes": False,
                                        "dashboard_address": ":0"})
    pipe = Pipeline([node(async_scale, ["x", "x"], "y", name="square")])
    for x in (3, 4):
        assert runner.run_sync(pipe, DataCatalog({"x": MemoryDataset(x)})) == {"y": x * x}
    assert caplog.text.count("Started a Dask LocalCluster for this run") == 2


def test_unpicklable_nodes_are_refused_before_running() -> None:
    lock = threading.Lock()
    pipe = Pipeline([node(lambda x: lock.locked() or x, "x", "y", name="holds_lock")])
    with pytest.raises(RunnerError, match="holds_lock"):
        DaskRunner("tcp://127.0.0.1:1").run_sync(pipe, DataCatalog({"x": MemoryDataset(1)}))


def test_an_unreachable_scheduler_is_a_runner_error() -> None:
    import dask

    pipe = Pipeline([node(double, "x", "y", name="nowhere")])
    with (dask.config.set({"distributed.comm.timeouts.connect": "0.2s"}),
          pytest.raises(RunnerError, match="could not connect to the Dask scheduler")):
        DaskRunner("tcp://127.0.0.1:9").run_sync(pipe, DataCatalog({"x": MemoryDataset(1)}))


def test_without_distributed_the_import_error_says_what_to_install() -> None:
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from pipeloop.engine.runners.dask import DaskRunner")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=False)
    assert "ImportError" in result.stderr
    assert 'pip install "pipeloop[dask]"' in result.stderr


def test_bad_options_are_refused() -> None:
    with pytest.raises(RunnerError, match="either address or client"):
        DaskRunner("tcp://host:8786", client=object())  # type: ignore[arg-type]
    with pytest.raises(RunnerError, match="cluster_kwargs"):
        DaskRunner("tcp://host:8786", cluster_kwargs={"n_workers": 2})
    with pytest.raises(RunnerError, match="resources_by_tag"):
        DaskRunner(resources_by_tag={"gpu": {"GPU": -1}})


async def test_policy_hooks_need_a_run() -> None:
    with pytest.raises(RunnerError, match=r"inside runner\.run"):
        await DaskRunner().execute(node(double, "x", "y"), {"x": 1})


# -- property: any DAG, same outputs as SequentialRunner -------------------------------------------


def combine(salt: int, *values: int) -> int:
    return salt + sum(values) * 3 % 1000


def combine_two(salt: int, *values: int) -> tuple[int, int]:
    total = combine(salt, *values)
    return total, total // 2


async def combine_async(salt: int, *values: int) -> int:
    await asyncio.sleep(0)
    return combine(salt, *values)


@st.composite
def dags(draw: st.DrawFn) -> Pipeline:
    available = ["in0", "in1"]
    nodes = []
    for index in range(draw(st.integers(1, 7))):
        inputs = draw(st.lists(st.sampled_from(available), min_size=1, max_size=3,
                               unique=True))
        kind = draw(st.sampled_from(["one", "two", "async"]))
        func = {"one": combine, "two": combine_two, "async": combine_async}[kind]
        outputs = [f"d{index}a", f"d{index}b"] if kind == "two" else f"d{index}"
        nodes.append(node(functools.partial(func, index), inputs, outputs, name=f"n{index}"))
        available += outputs if isinstance(outputs, list) else [outputs]
    return Pipeline(nodes)


def dag_catalog() -> DataCatalog:
    return DataCatalog({"in0": MemoryDataset(7), "in1": MemoryDataset(11)})


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pipe=dags())
def test_any_dag_gives_the_same_outputs_as_sequential(thread_cluster: Any,
                                                      pipe: Pipeline) -> None:
    expected = SequentialRunner().run_sync(pipe, dag_catalog())
    assert DaskRunner(thread_cluster.scheduler_address).run_sync(pipe, dag_catalog()) == expected
