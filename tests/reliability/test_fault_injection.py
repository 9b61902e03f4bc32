"""Fault injection: each fault a production pipeline meets, under each policy, and what it
leaves behind — which must be nothing.

Every test runs its own event loop with ``anyio.run`` so that it can look at the process
after the loop has closed: threads, child processes and file descriptors must then be back
to what they were before (see ``conftest.py`` for how each is counted). Inside the loop, no
task may outlive a run, and no worker process may exist beyond the pool. On disk, no
temporary file may remain and every file must be whole: either what it held before the run
or exactly what the run should have written. Finally the logged resume advice must finish
the pipeline, which also proves the runner still works after the fault.

The pipeline (``seed`` is in memory; ``*.json`` files start out holding ``{"old": true}``)::

    seed ─ prepare ──────── prepared.json ─┐
         ├ enrich (async) ─ enriched (mem) ┴ combine ─ combined.json ─ report ─ report.json ─┐
         └ slow_branch (SLOW) ─ slow.json ──────────────────────────────────── summary ─ summary
"""

from __future__ import annotations

import asyncio
import errno
import gc
import json
import os
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from aiofiles.threadpool.binary import AsyncBufferedIOBase
from thread_pools import own_pool_size, thread_pool_caps

from pipeloop import AbstractRunner, DataCatalog, MemoryDataset, Pipeline, node
from pipeloop.datasets import JSONDataset
from pipeloop.engine.resume import nodes_to_resume_from
from pipeloop.errors import DatasetError, NodeError, NodesFailedError, NodeTimeoutError

POLICIES = ("sequential", "thread", "process")
SLOW = 0.25  # seconds the slow branch takes: it is in flight when the fault strikes
HANG = 0.5  # seconds a hanging sync node sleeps; its timeout is TIMEOUT
TIMEOUT = 0.1
GRACE = 1.0  # seconds a cancelled run may take to return after its deadline
FILES = ("prepared", "combined", "slow", "report")
OLD = {"old": True}


class InjectedFault(RuntimeError):
    """What a node raises when told to fail."""


# -- node functions (module level: ParallelRunner workers import them by name) -----------


def prepare(seed: dict[str, int]) -> dict[str, int]:
    return {"prepared": seed["v"] * 2}


async def enrich(seed: dict[str, int], fault: dict[str, Any]) -> dict[str, int]:
    await anyio.sleep(0.02)
    if fault["kind"] == "node_async":
        raise InjectedFault("enrich failed")
    if fault["kind"] == "hang_async":
        await anyio.sleep(30)
    return {"enriched": seed["v"] + 1}


def combine(prepared: dict[str, int], enriched: dict[str, int], fault: dict[str, Any]) -> Any:
    kind = fault["kind"]
    if kind == "node_sync":
        raise InjectedFault("combine failed")
    if kind == "hang_sync":
        time.sleep(HANG)
    if kind == "worker_exit":
        os._exit(3)
    if kind == "worker_sigkill":
        Path(fault["pid_file"]).write_text(str(os.getpid()))
        time.sleep(30)  # until the test kills this process
    return {"combined": prepared["prepared"] * 10 + enriched["enriched"]}


def slow_branch(seed: dict[str, int], fault: dict[str, Any]) -> dict[str, int]:
    time.sleep(fault["slow"])
    return {"slow": -seed["v"]}


def report(combined: dict[str, int]) -> dict[str, str]:
    return {"report": f"combined is {combined['combined']}"}


async def summary(slow: dict[str, int], report: dict[str, str]) -> dict[str, Any]:
    await anyio.sleep(0)
    return {**slow, **report}


def build_pipeline(timeout: float | None = None) -> Pipeline:
    return Pipeline([
        node(prepare, "seed", "prepared", name="prepare"),
        node(enrich, ["seed", "params:fault"], "enriched", name="enrich", timeout=timeout),
        node(combine, ["prepared", "enriched", "params:fault"], "combined", name="combine",
             timeout=timeout),
        node(slow_branch, ["seed", "params:fault"], "slow", name="slow_branch"),
        node(report, "combined", "report", name="report"),
        node(summary, ["slow", "report"], "summary", name="summary"),
    ])


SEED = {"v": 3}
EXPECTED = {
    "prepared": {"prepared": 6},
    "combined": {"combined": 64},
    "slow": {"slow": -3},
    "report": {"report": "combined is 64"},
    "summary": {"slow": -3, "report": "combined is 64"},
}


# -- datasets that fail --------------------------------------------------------------------


class UnreadableJSONDataset(JSONDataset):
    """A JSON file on a disk that fails every read."""

    async def _read(self, path: Path) -> Any:
        raise OSError(errno.EIO, "Input/output error (injected)", str(path))


class SaveCounter:
    """Counts the saves of every dataset sharing it; the ``fail_on``-th one fails."""

    def __init__(self, fail_on: int) -> None:
        self.calls = 0
        self.fail_on = fail_on
        self.failed: list[Path] = []


class DiskFullJSONDataset(JSONDataset):
    """A JSON file on a disk that fills up half-way through the ``fail_on``-th save (counted
    over every dataset sharing ``counter``): half the bytes are written and flushed to the
    temporary file, then the write fails, as a full disk does."""

    def __init__(self, filepath: Path, counter: SaveCounter) -> None:
        super().__init__(filepath)
        self._counter = counter

    async def _write_content(self, file: AsyncBufferedIOBase, content: bytes) -> None:
        self._counter.calls += 1
        if self._counter.calls != self._counter.fail_on:
            await super()._write_content(file, content)
            return
        self._counter.failed.append(self.filepath)
        await file.write(content[: len(content) // 2])
        await file.flush()
        raise OSError(errno.ENOSPC, "No space left on device (injected)")


def build_catalog(root: Path, kind: str = "none", *, pid_file: Path | None = None,
                  slow: float = SLOW, counter: SaveCounter | None = None) -> DataCatalog:
    def file(name: str) -> JSONDataset:
        path = root / f"{name}.json"
        if kind == "load" and name == "prepared":
            return UnreadableJSONDataset(path)
        if counter is not None:
            return DiskFullJSONDataset(path, counter)
        return JSONDataset(path)

    catalog = DataCatalog({"seed": MemoryDataset(SEED), "enriched": MemoryDataset()})
    for name in FILES:
        catalog.add(name, file(name))
    catalog.add_parameters({"fault": {"kind": kind, "slow": slow,
                                      "pid_file": str(pid_file) if pid_file else ""}})
    return catalog


def fresh_folder(root: Path, *, old: bool = True) -> Path:
    """An empty folder, or one whose files all hold ``OLD`` (what a previous run left)."""
    root.mkdir(parents=True)
    if old:
        for name in FILES:
            (root / f"{name}.json").write_text(json.dumps(OLD))
    return root


def file_contents(root: Path) -> dict[str, Any]:
    return {path.stem: json.loads(path.read_bytes()) for path in root.glob("*.json")}


def assert_each_file_old_or_right(root: Path) -> dict[str, Any]:
    contents = file_contents(root)
    for name, content in contents.items():
        assert content in (OLD, EXPECTED[name]), f"{name}.json holds {content!r}"
    return contents


def process_bound(runner: AbstractRunner) -> int:
    """Processes a runner's pool may hold between runs: its idle workers and the zygote
    they are forked from (all ended with the event loop)."""
    if type(runner).__name__ != "ParallelRunner":
        return 0
    return getattr(runner, "max_workers", 0) + 1


def thread_bound(runner: AbstractRunner) -> int:
    """Threads a run may hold: every pool it may use, full."""
    return sum(thread_pool_caps(runner).values())


async def kill_when_written(pid_file: Path) -> None:
    """Kill the process whose pid appears in ``pid_file`` (a worker running a node)."""
    with anyio.fail_after(30):
        while not pid_file.exists() or not pid_file.read_text():
            await anyio.sleep(0.01)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)


# -- the fault matrix ----------------------------------------------------------------------

# fault -> (exception type, the node it fails, policies it applies to)
FAULTS: dict[str, tuple[type[BaseException], str | None, tuple[str, ...]]] = {
    "node_sync": (InjectedFault, "combine", POLICIES),
    "node_async": (InjectedFault, "enrich", POLICIES),
    "load": (DatasetError, "combine", POLICIES),
    "save_mid_write": (DatasetError, None, POLICIES),
    "hang_sync": (NodeTimeoutError, "combine", POLICIES),
    "hang_async": (NodeTimeoutError, "enrich", POLICIES),
    "worker_exit": (NodeError, "combine", ("process",)),
    "worker_sigkill": (NodeError, "combine", ("process",)),
}
MATRIX = [(fault, policy) for fault, (_, _, policies) in FAULTS.items() for policy in policies]


@pytest.mark.parametrize(("fault", "policy"), MATRIX, ids=[f"{f}-{p}" for f, p in MATRIX])
def test_a_fault_leaves_nothing_behind_and_the_advice_resumes(
    fault: str, policy: str, tmp_path: Path, runner_of: Callable[..., AbstractRunner],
    resources: Any, assert_no_leaks: Callable[..., None], leaked_tasks: Callable[..., list[str]],
    assert_whole_files: Callable[[Path], None], resume_advice: Any, children: Callable[..., list],
) -> None:
    error_type, failing_node, _ = FAULTS[fault]
    pid_file = tmp_path / "worker.pid"
    counter = SaveCounter(fail_on=2) if fault == "save_mid_write" else None
    timeout = TIMEOUT if fault.startswith("hang") else None
    pipeline = build_pipeline(timeout)
    baseline = resources.take()

    async def main() -> None:
        runner = runner_of(policy)
        # A clean run first: it starts the pools, so what follows is measured against them.
        clean = await runner.run(pipeline, build_catalog(fresh_folder(tmp_path / "clean")))
        assert clean == {"summary": EXPECTED["summary"]}
        tasks = set(asyncio.all_tasks())
        root = fresh_folder(tmp_path / "faulty")
        catalog = build_catalog(root, fault, pid_file=pid_file, counter=counter)

        async with anyio.create_task_group() as helpers:
            if fault == "worker_sigkill":
                helpers.start_soon(kill_when_written, pid_file)
            with resume_advice() as log, pytest.raises(error_type) as caught:
                await runner.run(pipeline, catalog)

        notes = " ".join(getattr(caught.value, "__notes__", []))
        if failing_node is not None:
            assert f"'{failing_node}'" in notes
        if fault.startswith("worker"):
            assert "died" in str(caught.value) and "'combine'" in str(caught.value)
        assert not leaked_tasks(tasks), "tasks outlived the failed run"
        assert len(children()) <= process_bound(runner), "workers beyond the pool"
        assert threading.active_count() <= len(baseline.threads) + thread_bound(runner)
        assert_whole_files(root)
        contents = assert_each_file_old_or_right(root)
        if counter is not None:
            (failed_path,) = counter.failed
            assert contents[failed_path.stem] == OLD, "a failed save changed the old file"
        assert len(log.advice) == 1, "the failed run must log one resume advice"

        # Without the timeouts: on a cold pool, worker start-up counts against a node's timeout
        # (see test_a_worker_start_does_not_count_against_the_timeout).
        resumed = await runner.run(build_pipeline().from_nodes(*log.advice[0]),
                                   build_catalog(root))
        assert resumed == {"summary": EXPECTED["summary"]}
        assert file_contents(root) == {name: EXPECTED[name] for name in FILES}
        assert not leaked_tasks(tasks)

    anyio.run(main)
    assert_whole_files(tmp_path)
    assert_no_leaks(baseline, pool_threads=own_pool_size(runner_of(policy)))


KEEP_GOING = [("node_sync", policy) for policy in POLICIES] + [
    ("save_mid_write", policy) for policy in POLICIES] + [("worker_exit", "process")]
# failed node -> files that keep_going must still produce
INDEPENDENT = {
    "combine": {"prepared", "slow"},
    "prepare": {"slow"},
    "slow_branch": {"prepared", "combined", "report"},
}


@pytest.mark.parametrize(("fault", "policy"), KEEP_GOING, ids=[f"{f}-{p}" for f, p in KEEP_GOING])
def test_keep_going_finishes_the_other_branch_and_leaves_nothing_behind(
    fault: str, policy: str, tmp_path: Path, runner_of: Callable[..., AbstractRunner],
    resources: Any, assert_no_leaks: Callable[..., None], leaked_tasks: Callable[..., list[str]],
    assert_whole_files: Callable[[Path], None], children: Callable[..., list],
) -> None:
    # The first file save fails: prepare's (its output is the first file ready) or, should
    # the order differ, slow_branch's. Either way the other branch must finish.
    counter = SaveCounter(fail_on=1) if fault == "save_mid_write" else None
    pipeline = build_pipeline()
    baseline = resources.take()

    async def main() -> None:
        runner = runner_of(policy)
        await runner.run(pipeline, build_catalog(fresh_folder(tmp_path / "clean"), slow=0))
        tasks = set(asyncio.all_tasks())
        root = fresh_folder(tmp_path / "faulty", old=False)

        with pytest.raises(NodesFailedError) as caught:
            await runner.run(pipeline, build_catalog(root, fault, counter=counter),
                             keep_going=True)

        (failed,) = caught.value.failed_nodes
        assert not leaked_tasks(tasks), "tasks outlived the run"
        assert len(children()) <= process_bound(runner)
        assert_whole_files(root)
        contents = assert_each_file_old_or_right(root)
        assert INDEPENDENT[failed] <= set(contents), f"keep_going did not finish {failed}"
        if counter is not None:
            (failed_path,) = counter.failed
            assert failed_path.stem not in contents, "a failed save left a file"
        resumed = await runner.run(pipeline.from_nodes(*caught.value.resume_nodes),
                                   build_catalog(root))
        assert resumed == {"summary": EXPECTED["summary"]}
        assert file_contents(root) == {name: EXPECTED[name] for name in FILES}

    anyio.run(main)
    assert_no_leaks(baseline, pool_threads=own_pool_size(runner_of(policy)))


# -- cancellation at random moments --------------------------------------------------------

CANCELLED_POLICIES = [
    "sequential",
    "thread",
    "process",
]


@pytest.mark.usefixtures("kill_leftover_children")
@pytest.mark.parametrize("policy", CANCELLED_POLICIES)
def test_cancelling_at_random_moments_leaves_nothing_behind(
    policy: str, tmp_path: Path, runner_of: Callable[..., AbstractRunner], resources: Any,
    assert_no_leaks: Callable[..., None], leaked_tasks: Callable[..., list[str]],
    assert_whole_files: Callable[[Path], None], completion_recorder: Any,
    leftovers: Callable[..., list[str]],
) -> None:
    rng = random.Random(f"cancel-{policy}")
    slow = 0.02
    pipeline = build_pipeline()
    baseline = resources.take()
    outcomes = {"cancelled": 0, "finished": 0}
    leaks: list[str] = []  # gathered, so that every attempt still checks files and resume

    async def main() -> None:
        runner = runner_of(policy)
        # The first run starts the runner's workers; the second says how long a run takes.
        await runner.run(pipeline, build_catalog(fresh_folder(tmp_path / "warm-up"), slow=slow))
        started = time.perf_counter()
        await runner.run(pipeline, build_catalog(fresh_folder(tmp_path / "timed"), slow=slow))
        duration = time.perf_counter() - started
        tasks = set(asyncio.all_tasks())
        # Three deadlines right after the start, where a run is still starting its workers,
        # then others drawn over the whole length of a run, until ten runs were cut short.
        # A run that finishes shortens the length deadlines are drawn from: a loaded machine
        # may have made the timed run slow, and then most runs would beat their deadline.
        first = [0.005, 0.01, 0.02]
        attempt = 0
        while outcomes["cancelled"] < 10 and attempt < 60:
            deadline = first[attempt] if attempt < len(first) else rng.uniform(
                0, duration * 1.2)
            attempt += 1
            root = fresh_folder(tmp_path / f"attempt-{attempt}", old=attempt % 2 == 0)
            catalog = build_catalog(root, slow=slow)
            recorder = completion_recorder()
            started = time.perf_counter()
            with anyio.move_on_after(deadline) as scope:
                result = await runner.run(pipeline, catalog, hooks=[recorder])
            elapsed = time.perf_counter() - started
            assert elapsed < deadline + GRACE, f"cancellation took {elapsed - deadline:.2f} s"
            leaked = leaked_tasks(tasks)
            if leaked:
                leaks.append(f"cancelled at {deadline:.3f} s, tasks left: {leaked}")
                tasks |= set(asyncio.all_tasks())
            assert threading.active_count() <= len(baseline.threads) + thread_bound(runner)
            assert_whole_files(root)
            assert_each_file_old_or_right(root)
            if not scope.cancelled_caught:
                outcomes["finished"] += 1
                duration = min(duration, elapsed)
                assert result == {"summary": EXPECTED["summary"]}
                continue
            outcomes["cancelled"] += 1
            advice = nodes_to_resume_from(pipeline.nodes, recorder.unfinished(pipeline.nodes),
                                          catalog)
            if not advice:  # cancelled after the last save: only the returned value is lost
                assert file_contents(root) == {name: EXPECTED[name] for name in FILES}
                continue
            resumed = await runner.run(pipeline.from_nodes(*advice), build_catalog(root))
            assert resumed == {"summary": EXPECTED["summary"]}
            assert file_contents(root) == {name: EXPECTED[name] for name in FILES}

    anyio.run(main)
    assert outcomes["cancelled"] >= 10, outcomes  # the deadlines did cut runs short
    assert_whole_files(tmp_path)
    leaks += leftovers(baseline, pool_threads=own_pool_size(runner_of(policy)))
    assert not leaks, "left behind: " + "; ".join(leaks)


WORKER_START_SCRIPT = """
import time

import anyio
from pipeloop import DataCatalog, MemoryDataset, ParallelRunner, Pipeline, node

if __name__ != "__main__" and TIMEOUT:
    # In a worker, which imports this module to find `instant`: a start slower than the
    # node's timeout, by construction, whatever the machine's speed.
    time.sleep(TIMEOUT + 3)

def instant(seed):
    return seed

async def main(timeout, deadlines):
    pipeline = Pipeline([node(instant, "seed", "same", name="instant", timeout=timeout)])
    runner = ParallelRunner(max_workers=1)
    for deadline in deadlines:
        with anyio.move_on_after(deadline):
            await runner.run(pipeline, DataCatalog({"seed": MemoryDataset(1)}))
    return await runner.run(pipeline, DataCatalog({"seed": MemoryDataset(1)}))

if __name__ == "__main__":
    try:
        result, error = anyio.run(main, TIMEOUT, DEADLINES), None
    except Exception as exc:
        result, error = None, repr(exc)
    time.sleep(1.0)  # killed workers get reaped; leaked ones stay
    report(result=result, error=error, children=child_processes())
"""


def test_a_run_cancelled_while_its_worker_starts_leaves_no_process(
    run_script: Callable[[str], dict[str, Any]],
) -> None:
    # A fresh interpreter takes longer than these deadlines to say READY.
    facts = run_script(f"TIMEOUT, DEADLINES = None, (0.01, 0.02, 0.03)\n{WORKER_START_SCRIPT}")
    assert facts["error"] is None and facts["result"] == {"same": 1}
    assert facts["children"] == [], "worker processes outlived the event loop"


def test_a_worker_start_does_not_count_against_the_timeout(
    run_script: Callable[[str], dict[str, Any]],
) -> None:
    # The call itself has 5 s (generous under any load); starting the worker takes 8 s.
    facts = run_script(f"TIMEOUT, DEADLINES = 5, ()\n{WORKER_START_SCRIPT}")
    assert facts["error"] is None, facts["error"]
    assert facts["result"] == {"same": 1}
    assert facts["children"] == [], "worker processes outlived the event loop"


# -- a stalled disk -------------------------------------------------------------------------


def answer_when_read(fifo: Path, after: float, patience: float = 10.0) -> None:
    """After ``after`` seconds, answer whoever waits to read ``fifo``: the stalled disk
    comes back."""
    time.sleep(after)
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            writer = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: nobody is reading yet
            time.sleep(0.01)
            continue
        try:
            os.write(writer, b"{}")
        except BrokenPipeError:
            pass  # the reader opened and, cancelled, closed at once: nothing left to answer
        finally:
            os.close(writer)
        return


def release_readers(fifo: Path) -> None:
    """Unblock any thread still waiting to open ``fifo`` (so no test can hang at exit)."""
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)  # never blocks on Linux
    os.close(fd)


def test_a_load_cancelled_while_the_disk_stalls_closes_its_file(tmp_path: Path) -> None:
    # A FIFO is a disk that stalls on demand: open() waits until a writer appears. The load
    # is cancelled while its open() waits in a worker thread; the open completes later.
    # Found by the fail-fast property test (a ResourceWarning: unclosed file) before 494bb48
    # shielded the open and the close in AbstractBytesFileDataset._read.
    fifo = tmp_path / "stalled.json"
    os.mkfifo(fifo)
    disk = threading.Thread(target=answer_when_read, args=(fifo, 0.4))
    unraisable: list[Any] = []

    async def main() -> None:
        disk.start()
        with anyio.move_on_after(0.1):
            await JSONDataset(fifo).load()
        await anyio.to_thread.run_sync(disk.join)
        await anyio.sleep(0.1)

    gc.collect()  # what earlier tests dropped is not this test's business
    previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        anyio.run(main)
        gc.collect()
    finally:
        sys.unraisablehook = previous
        release_readers(fifo)
    unclosed = [str(args.exc_value) for args in unraisable]
    assert not unclosed, f"files left to the garbage collector: {unclosed}"
