"""``ParallelRunner``: plain functions in worker processes.

Functions sent to workers live at module level (workers import this module by name). Workers
tell the test what they are doing through files: a node writes its PID to a file, so the test
can check that a worker was killed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from child_processes import default_signals, gone, wait_gone

from pipeloop import DataCatalog, MemoryDataset, ParallelRunner, Pipeline, node
from pipeloop.datasets import JSONDataset
from pipeloop.errors import NodeError, NodeTimeoutError, RemoteError, RunnerError
from pipeloop.testing import CountingDataset, RecordingHooks

SAFETY = 30.0  # seconds a worker or the test waits at most, so a bug fails instead of hanging


def assign(value: Any) -> MemoryDataset:
    return MemoryDataset(value, copy_mode="assign")


def pid_of(x: Any) -> int:
    return os.getpid()


def with_my_pid(earlier: int) -> list[int]:
    return [earlier, os.getpid()]


def inc(x: int) -> int:
    return x + 1


def add(a: int, b: int) -> int:
    return a + b


def sleep_forever_in_worker(pid_file: str) -> int:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(SAFETY)
    return 1


def die(x: Any) -> Any:
    os._exit(1)


def die_on_first_attempt(path: str) -> str:
    counter = Path(path)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt == 1:
        os._exit(1)
    return f"ok after {attempt}"


def meet_across_processes(folder: str, me: str, other: str, patience: float) -> bool:
    """Announce ``me`` and wait until ``other`` has announced itself too."""
    Path(folder, me).touch()
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if Path(folder, other).exists():
            return True
        time.sleep(0.01)
    return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def wait_for_file(path: Path) -> None:
    with anyio.fail_after(SAFETY):
        while not path.exists() or not path.read_text():
            await anyio.sleep(0.01)


async def warm_up(runner: ParallelRunner) -> None:
    await runner.run(Pipeline([node(pid_of, "x", "pid", name="warm")]),
                     DataCatalog({"x": MemoryDataset(0)}))


# -- where and how nodes run ------------------------------------------------------------------


async def test_workers_are_other_processes_and_are_reused() -> None:
    pipeline = Pipeline([node(pid_of, "x", "p1", name="first"),
                         node(with_my_pid, "p1", "pids", name="second")])
    result = await ParallelRunner(max_workers=1).run(pipeline,
                                                     DataCatalog({"x": MemoryDataset(0)}))
    first, second = result["pids"]
    assert first != os.getpid()
    assert first == second


async def test_sync_nodes_run_in_parallel_processes(tmp_path: Path) -> None:
    pipeline = Pipeline([
        node(functools.partial(meet_across_processes, me="a", other="b", patience=SAFETY),
             "folder", "a_met", name="a"),
        node(functools.partial(meet_across_processes, me="b", other="a", patience=SAFETY),
             "folder", "b_met", name="b"),
    ])
    catalog = DataCatalog({"folder": MemoryDataset(str(tmp_path))})
    result = await ParallelRunner(max_workers=2).run(pipeline, catalog)
    assert result == {"a_met": True, "b_met": True}


async def test_max_workers_caps_the_processes(tmp_path: Path) -> None:
    pipeline = Pipeline([
        node(functools.partial(meet_across_processes, me="a", other="b", patience=0.5),
             "folder", "a_met", name="a"),
        node(functools.partial(meet_across_processes, me="b", other="a", patience=0.5),
             "folder", "b_met", name="b"),
    ])
    catalog = DataCatalog({"folder": MemoryDataset(str(tmp_path))})
    result = await ParallelRunner(max_workers=1).run(pipeline, catalog)
    # One ran first, alone, and gave up waiting; the other then found it.
    assert sorted(result.values()) == [False, True]


async def test_loop_stays_responsive_while_workers_run(tmp_path: Path) -> None:
    ticks = 0
    pid_file = tmp_path / "pid"

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    runner = ParallelRunner(max_workers=1)
    pipeline = Pipeline([node(sleep_forever_in_worker, "pid_file", "out", name="sleeper")])
    catalog = DataCatalog({"pid_file": MemoryDataset(str(pid_file))})
    async with anyio.create_task_group() as group:
        group.start_soon(ticker)
        group.start_soon(runner.run, pipeline, catalog)
        await wait_for_file(pid_file)
        seen = ticks
        while ticks < seen + 5:  # the loop keeps ticking while the worker sleeps
            await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    assert not alive(int(pid_file.read_text()))


# -- what cannot be sent to a worker -----------------------------------------------------------


def make_closure() -> Any:
    offset = 1

    def closure(x: int) -> int:
        return x + offset

    return closure


def make_async_closure() -> Any:
    async def async_closure(x: int) -> int:
        return x

    return async_closure


async def test_lambdas_and_closures_are_refused_before_the_run() -> None:
    hooks = RecordingHooks()
    x = CountingDataset(1)
    pipeline = Pipeline([
        node(lambda x: x, "x", "a", name="my_lambda"),
        node(make_closure(), "x", "b", name="my_closure"),
        node(inc, "x", "c", name="fine_module_level"),
        node(functools.partial(add, 1), "x", "d", name="fine_partial"),
        node(make_async_closure(), "x", "e", name="fine_async_closure"),
    ])
    with pytest.raises(RunnerError) as caught:
        await ParallelRunner(max_workers=1).run(pipeline, DataCatalog({"x": x}), hooks=[hooks])
    message = str(caught.value)
    assert "my_lambda" in message and "my_closure" in message
    assert "fine_" not in message
    assert "ThreadRunner" in message  # says what to do
    assert hooks.calls == []
    assert x.loads == 0


async def test_partials_and_async_closures_are_accepted() -> None:
    pipeline = Pipeline([
        node(functools.partial(add, 1), "x", "d", name="partial"),
        node(make_async_closure(), "x", "e", name="async_closure"),
    ])
    result = await ParallelRunner(max_workers=1).run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert result == {"d": 2, "e": 1}


# -- dying and killed workers ---------------------------------------------------------------


async def test_a_dying_worker_fails_its_node_and_the_next_run_works() -> None:
    runner = ParallelRunner(max_workers=1)
    pipeline = Pipeline([node(die, "x", "out", name="dies")])
    with pytest.raises(NodeError) as caught:
        await runner.run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    message = str(caught.value)
    assert "node 'dies'" in message and "died" in message
    # The same runner, in the same loop, works again ...
    fine = Pipeline([node(inc, "x", "out", name="fine")])
    assert await runner.run(fine, DataCatalog({"x": MemoryDataset(1)})) == {"out": 2}
    # ... and so does a run from plain code, in a new loop.
    assert await anyio.to_thread.run_sync(
        lambda: runner.run_sync(fine, DataCatalog({"x": MemoryDataset(2)}))
    ) == {"out": 3}


async def test_a_dead_worker_is_retried(tmp_path: Path) -> None:
    pipeline = Pipeline([node(die_on_first_attempt, "path", "out", name="dies_once",
                              retries=1)])
    catalog = DataCatalog({"path": MemoryDataset(str(tmp_path / "attempts"))})
    result = await ParallelRunner(max_workers=1).run(pipeline, catalog)
    assert result == {"out": "ok after 2"}


async def test_cancelling_a_run_kills_its_worker(tmp_path: Path) -> None:
    runner = ParallelRunner(max_workers=1)
    await warm_up(runner)
    before = asyncio.all_tasks()
    pid_file = tmp_path / "pid"
    pipeline = Pipeline([node(sleep_forever_in_worker, "pid_file", "out", name="sleeper")])
    catalog = DataCatalog({"pid_file": MemoryDataset(str(pid_file))})
    with anyio.move_on_after(SAFETY) as safety:
        async with anyio.create_task_group() as group:
            group.start_soon(runner.run, pipeline, catalog)
            await wait_for_file(pid_file)
            group.cancel_scope.cancel()
    assert not safety.cancelled_caught
    assert not alive(int(pid_file.read_text()))
    assert asyncio.all_tasks() == before
    # The pool replaces the killed worker.
    assert await runner.run(Pipeline([node(inc, "x", "y", name="after")]),
                            DataCatalog({"x": MemoryDataset(1)})) == {"y": 2}


async def test_timeout_kills_the_worker(tmp_path: Path) -> None:
    runner = ParallelRunner(max_workers=1)
    await warm_up(runner)  # so that starting a worker does not count against the timeout
    pid_file = tmp_path / "pid"
    pipeline = Pipeline([node(sleep_forever_in_worker, "pid_file", "out", name="sleeper",
                              timeout=1.0)])
    catalog = DataCatalog({"pid_file": MemoryDataset(str(pid_file))})
    with pytest.raises(NodeTimeoutError) as caught:
        await runner.run(pipeline, catalog)
    message = str(caught.value)
    assert "Node 'sleeper' did not finish within its timeout of 1 s." in message
    assert "worker process was killed" in message
    assert not alive(int(pid_file.read_text()))


async def fail_once_file_exists(pid_file: str) -> int:
    await wait_for_file(Path(pid_file))
    raise ValueError("failed while a worker was busy")


async def test_a_failure_kills_workers_still_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    pipeline = Pipeline([
        node(sleep_forever_in_worker, "pid_file", "out", name="sleeper"),
        node(fail_once_file_exists, "pid_file", "f", name="failer"),
    ])
    catalog = DataCatalog({"pid_file": MemoryDataset(str(pid_file))})
    with pytest.raises(ValueError, match="worker was busy"):
        await ParallelRunner(max_workers=1).run(pipeline, catalog)
    assert not alive(int(pid_file.read_text()))


# -- errors crossing the process boundary ----------------------------------------------------


class WorkerError(Exception):
    pass


def raise_in_worker(x: int) -> int:
    raise WorkerError(f"raised in {os.getpid()}")


async def test_errors_keep_their_type_across_the_process_boundary() -> None:
    pipeline = Pipeline([node(raise_in_worker, "x", "y", name="remote")])
    with pytest.raises(WorkerError, match="raised in") as caught:
        await ParallelRunner(max_workers=1).run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert str(os.getpid()) not in str(caught.value)
    assert any("'remote'" in note for note in caught.value.__notes__)


def test_default_max_workers_is_the_cpu_count() -> None:
    assert ParallelRunner().max_workers == (os.cpu_count() or 1)
    assert ParallelRunner().max_concurrent_nodes is None


def test_refusal_happens_in_run_sync_too() -> None:
    pipeline = Pipeline([node(lambda x: x, "x", "a", name="my_lambda")])
    with pytest.raises(RunnerError, match="my_lambda"):
        ParallelRunner(max_workers=1).run_sync(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert threading.active_count() >= 1


# -- what a node's own programs see ------------------------------------------------------------


def echo_to_stdout(word: str) -> int:
    return subprocess.run(["echo", word], check=False).returncode


def read_stdin_in_a_child(x: Any) -> list[str]:
    child = subprocess.run([sys.executable, "-c", "import sys; print(repr(sys.stdin.read()))"],
                           capture_output=True, text=True, timeout=SAFETY, check=True)
    return [child.stdout.strip(), repr(sys.stdin.read())]


async def test_a_program_writing_to_stdout_reaches_the_real_stdout(
    capfd: pytest.CaptureFixture[str],
) -> None:
    pipeline = Pipeline([node(echo_to_stdout, "word", "code", name="echo")])
    catalog = DataCatalog({"word": MemoryDataset("hello-from-a-child")})
    assert await ParallelRunner(max_workers=1).run(pipeline, catalog) == {"code": 0}
    assert "hello-from-a-child" in capfd.readouterr().out


async def test_stdin_of_a_node_and_of_its_children_is_empty() -> None:
    pipeline = Pipeline([node(read_stdin_in_a_child, "x", "seen", name="reader")])
    result = await ParallelRunner(max_workers=1).run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    assert result == {"seen": ["''", "''"]}  # end of file at once, not a hang


def print_twice(word: str) -> str:
    print("printed", word)
    print("to stderr", word, file=sys.stderr)
    return word


async def test_print_in_a_node_reaches_this_process_streams(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pipeline = Pipeline([node(print_twice, "word", "same", name="printer")])
    await ParallelRunner(max_workers=1).run(pipeline, DataCatalog({"word": MemoryDataset("w1")}))
    captured = capsys.readouterr()
    assert "printed w1" in captured.out
    assert "to stderr w1" in captured.err


def log_then_wait(folder: str) -> bool:
    logging.getLogger("tests.live").warning("the node has started")
    release = Path(folder, "release")
    deadline = time.monotonic() + SAFETY
    while time.monotonic() < deadline:
        if release.exists():
            return True
        time.sleep(0.01)
    return False


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def test_node_logs_arrive_while_the_node_runs(tmp_path: Path) -> None:
    collect = Collect()
    live = logging.getLogger("tests.live")
    live.addHandler(collect)
    try:
        pipeline = Pipeline([node(log_then_wait, "folder", "released", name="waiter")])
        catalog = DataCatalog({"folder": MemoryDataset(str(tmp_path))})
        async with anyio.create_task_group() as group:
            result: dict[str, Any] = {}

            async def run() -> None:
                result.update(await ParallelRunner(max_workers=1).run(pipeline, catalog))

            group.start_soon(run)
            with anyio.fail_after(SAFETY):  # the line comes while the node still waits
                while "the node has started" not in collect.messages:
                    await anyio.sleep(0.01)
            (tmp_path / "release").touch()
        assert result == {"released": True}
    finally:
        live.removeHandler(collect)


# -- a node's children end with it ----------------------------------------------------------


def start_child_and_wait(folder: str) -> int:
    child = subprocess.Popen(["sleep", str(10 * SAFETY)])
    Path(folder, "worker").write_text(str(os.getpid()))
    Path(folder, "child").write_text(str(child.pid))
    return child.wait()


async def test_cancelling_a_run_ends_the_children_of_its_node(tmp_path: Path) -> None:
    pipeline = Pipeline([node(start_child_and_wait, "folder", "code", name="parent_of_child")])
    catalog = DataCatalog({"folder": MemoryDataset(str(tmp_path))})
    async with anyio.create_task_group() as group:
        group.start_soon(ParallelRunner(max_workers=1).run, pipeline, catalog)
        await wait_for_file(tmp_path / "child")
        group.cancel_scope.cancel()
    child = int((tmp_path / "child").read_text())
    assert await anyio.to_thread.run_sync(wait_gone, child)
    assert gone(int((tmp_path / "worker").read_text()))


async def test_a_timeout_ends_the_children_of_its_node(tmp_path: Path) -> None:
    runner = ParallelRunner(max_workers=1)
    await warm_up(runner)
    pipeline = Pipeline([node(start_child_and_wait, "folder", "code", name="slow", timeout=1)])
    with pytest.raises(NodeTimeoutError):
        await runner.run(pipeline, DataCatalog({"folder": MemoryDataset(str(tmp_path))}))
    assert await anyio.to_thread.run_sync(wait_gone, int((tmp_path / "child").read_text()))


PARENT_SCRIPT = """
import sys
from pipeloop import DataCatalog, MemoryDataset, ParallelRunner, Pipeline, node
from test_process import start_child_and_wait

if __name__ == "__main__":
    pipeline = Pipeline([node(start_child_and_wait, "folder", "code", name="parent_of_child")])
    ParallelRunner(max_workers=1).run_sync(
        pipeline, DataCatalog({"folder": MemoryDataset(sys.argv[1])}))
"""


def run_parent_until_the_child_starts(tmp_path: Path) -> subprocess.Popen[bytes]:
    script = tmp_path / "parent.py"
    script.write_text(PARENT_SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(__file__).parent), str(Path(__file__).parents[1]),
         *filter(None, [os.environ.get("PYTHONPATH")])])}
    parent = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env,
                              stdin=subprocess.DEVNULL, preexec_fn=default_signals)
    deadline = time.monotonic() + 2 * SAFETY
    while not (tmp_path / "child").exists() or not (tmp_path / "child").read_text():
        assert parent.poll() is None, "the parent script ended early"
        assert time.monotonic() < deadline, "the node never started its child"
        time.sleep(0.02)
    return parent


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_signal_to_the_parent_ends_its_workers_and_their_children(
    tmp_path: Path, signum: int,
) -> None:
    parent = run_parent_until_the_child_starts(tmp_path)
    worker = int((tmp_path / "worker").read_text())
    child = int((tmp_path / "child").read_text())
    parent.send_signal(signum)
    try:
        parent.wait(timeout=SAFETY)
    finally:  # never leave the parent behind, not even as a zombie, for later leak checks
        parent.kill()
        parent.wait()
    assert wait_gone(worker), "the worker outlived its parent"
    assert wait_gone(child), "the node's child outlived its parent"


# -- exceptions that cannot cross as they are -----------------------------------------------


class TwoArgumentError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"code {code}: {detail}")
        self.code = code


class LockedError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def raise_two_argument_error(x: Any) -> Any:
    raise TwoArgumentError(7, "bad input")


def raise_locked_error(x: Any) -> Any:
    raise LockedError("holds a lock")


@pytest.mark.parametrize(("func", "kind", "message"), [
    (raise_two_argument_error, TwoArgumentError, "code 7: bad input"),
    (raise_locked_error, LockedError, "holds a lock"),
])
async def test_an_exception_that_cannot_be_pickled_comes_back_clearly(
    func: Any, kind: type[Exception], message: str,
) -> None:
    pipeline = Pipeline([node(func, "x", "y", name="remote")])
    with pytest.raises(kind) as caught:
        await ParallelRunner(max_workers=1).run(pipeline, DataCatalog({"x": MemoryDataset(1)}))
    error = caught.value
    assert str(error) == message
    if type(error) is kind:
        # It crossed as itself: tblib, which importing distributed installs (other tests
        # here do), teaches pickle to rebuild exceptions whatever their __init__ takes.
        assert "tblib" in sys.modules and kind is TwoArgumentError
        return
    assert isinstance(error, RemoteError)
    assert error.remote_type.endswith(kind.__qualname__)
    assert func.__name__ in error.remote_traceback  # the worker's traceback text
    assert func.__name__ in str(error.__cause__)
    assert any("'remote'" in note for note in error.__notes__)


def fail_with_two_arguments_once(path: str) -> str:
    counter = Path(path)
    attempt = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(attempt))
    if attempt == 1:
        raise TwoArgumentError(1, "passing fault")
    return f"ok after {attempt}"


async def test_retry_on_matches_a_rebuilt_exception_by_its_type(tmp_path: Path) -> None:
    pipeline = Pipeline([node(fail_with_two_arguments_once, "path", "out", name="flaky",
                              retries=1, retry_on=(TwoArgumentError,))])
    catalog = DataCatalog({"path": MemoryDataset(str(tmp_path / "attempts"))})
    assert await ParallelRunner(max_workers=1).run(pipeline, catalog) == {"out": "ok after 2"}


async def test_retry_on_leaves_other_rebuilt_types_alone(tmp_path: Path) -> None:
    pipeline = Pipeline([node(fail_with_two_arguments_once, "path", "out", name="flaky",
                              retries=1, retry_on=(KeyError,))])
    catalog = DataCatalog({"path": MemoryDataset(str(tmp_path / "attempts"))})
    with pytest.raises(TwoArgumentError):
        await ParallelRunner(max_workers=1).run(pipeline, catalog)
    assert (tmp_path / "attempts").read_text() == "1"


# -- data locality --------------------------------------------------------------------------


class WhereDataset(JSONDataset):
    """A JSON file that notes, beside it, the pid of each process that loads or saves it."""

    worker_io = True  # its objects share no state: workers may use copies

    def _note(self, what: str) -> None:
        with open(f"{self.filepath}.{what}", "a") as notes:
            notes.write(f"{os.getpid()}\n")

    async def _load(self) -> Any:
        self._note("loaded")
        return await super()._load()

    async def _save(self, data: Any) -> None:
        self._note("saved")
        await super()._save(data)


def double_all(values: list[int]) -> list[int]:
    return [2 * value for value in values]


async def test_file_datasets_are_loaded_and_saved_in_the_worker(tmp_path: Path) -> None:
    source, middle, target = (tmp_path / f"{name}.json" for name in ("a", "b", "c"))
    source.write_text("[1, 2]")
    catalog = DataCatalog({name: WhereDataset(path) for name, path in
                           (("a", source), ("b", middle), ("c", target))})
    pipeline = Pipeline([node(double_all, "a", "b", name="first"),
                         node(double_all, "b", "c", name="second"),
                         node(double_all, "c", "d", name="third")])
    result = await ParallelRunner(max_workers=1).run(pipeline, catalog)
    assert result == {"d": [8, 16]}  # the free output still comes back here
    assert json.loads(target.read_text()) == [4, 8]
    notes = [Path(f"{path}.{what}") for path in (source, middle, target)
             for what in ("loaded", "saved") if Path(f"{path}.{what}").exists()]
    pids = {int(pid) for note in notes for pid in note.read_text().split()}
    assert len(notes) == 5 and os.getpid() not in pids, "data crossed to this process"


async def async_identity(values: list[int]) -> list[int]:
    return values


async def test_a_file_read_by_an_async_node_is_loaded_here(tmp_path: Path) -> None:
    source = tmp_path / "a.json"
    source.write_text("[3]")
    pipeline = Pipeline([node(async_identity, "a", "b", name="on_the_loop")])
    result = await ParallelRunner(max_workers=1).run(
        pipeline, DataCatalog({"a": WhereDataset(source)}))
    assert result == {"b": [3]}
    assert Path(f"{source}.loaded").read_text().split() == [str(os.getpid())]


class SharedStateDataset(WhereDataset):
    """Says nothing about its state: a worker could not be trusted with a copy of it."""

    worker_io = False


async def test_other_dataset_classes_are_loaded_and_saved_here(tmp_path: Path) -> None:
    source, target = tmp_path / "a.json", tmp_path / "b.json"
    source.write_text("[1]")
    catalog = DataCatalog({"a": SharedStateDataset(source), "b": SharedStateDataset(target)})
    pipeline = Pipeline([node(double_all, "a", "b", name="double")])
    await ParallelRunner(max_workers=1).run(pipeline, catalog)
    here = [str(os.getpid())]
    assert Path(f"{source}.loaded").read_text().split() == here
    assert Path(f"{target}.saved").read_text().split() == here
