"""Shared machinery of the reliability suite: resource probes, file checks, run recorders.

Everything is handed out through fixtures: test modules here have no ``__init__.py``, and
every ``conftest.py`` of the suite is imported under the same module name, so importing
from this file by name would be fragile. For the same reason node functions never live
here: ``ParallelRunner`` workers import a node's function by its module name, so each test
module defines its own at module level.

What "nothing left behind" means in this suite, and how each part is measured (psutil is
not a dependency, so processes, descriptors and memory are read from ``/proc``):

- tasks: ``asyncio.all_tasks()`` inside the loop, compared with the set before the run;
- threads: ``threading.enumerate()``; after ``anyio.run`` returns, only the threads of a
  ``ThreadRunner``'s own pool (named ``pipeloop-thread*``, at most ``max_workers``; the
  pool lives as long as its runner, by design) may remain once abandoned worker threads
  (documented: a running thread cannot be interrupted) have finished;
- processes: descendants of this process, found by their ``PPid`` in ``/proc/<pid>/stat``
  (zombies included: an unreaped child is a leak too). While an event loop runs, a
  ``ParallelRunner``'s pool legitimately holds its zygote and idle workers (at most
  ``max_workers`` + 1 processes); once the loop has ended, none may remain;
- open files: entries of ``/proc/self/fd``;
- temporary files: ``.*.tmp`` and ``.*.pipeloop-tmp`` files (the atomic-save temporaries)
  anywhere under a folder;
- half-written files: every ``*.json`` file under a folder must parse.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeloop import Node

SETTLE_SECONDS = 10.0  # how long abandoned threads or dying processes get to go away


# -- resources ---------------------------------------------------------------------------


def _is_process_lifetime_helper(pid: str) -> bool:
    """multiprocessing's resource tracker: started once (here by Dask's process clusters in
    other test modules) and kept for the life of the parent by design, not a leak."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as file:
            return b"multiprocessing.resource_tracker" in file.read()
    except OSError:
        return False


def child_processes() -> list[tuple[int, str]]:
    """``(pid, state)`` of every descendant of this process, zombies included (but not
    multiprocessing's resource tracker).

    Descendants, not only children: ``ParallelRunner``'s workers are forked from its pool's
    zygote (a child of this process), and a node's own programs are children of a worker.
    """
    parents: dict[int, list[tuple[int, str]]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                stat = file.read()
        except OSError:  # the process ended while we looked
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rindex(")") + 2 :].split()
        if not _is_process_lifetime_helper(entry):
            parents.setdefault(int(fields[1]), []).append((int(entry), fields[0]))
    found: list[tuple[int, str]] = []
    stack = [os.getpid()]
    while stack:
        for pid, state in parents.get(stack.pop(), []):
            found.append((pid, state))
            stack.append(pid)
    return found


def open_fds() -> int:
    """How many file descriptors this process holds."""
    return len(os.listdir("/proc/self/fd"))


def rss_bytes() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm") as file:
        resident_pages = int(file.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


POOL_THREAD_PREFIX = "pipeloop-thread"  # ThreadRunner's pool, which lives with the runner


@dataclass(frozen=True)
class Resources:
    """What the process holds at one moment (outside any event loop)."""

    threads: frozenset[int]
    children: tuple[tuple[int, str], ...]
    fds: int

    @classmethod
    def take(cls) -> Resources:
        gc.collect()  # file objects dropped but not yet collected are not leaks
        idents = frozenset(thread.ident for thread in threading.enumerate() if thread.ident)
        return cls(idents, tuple(child_processes()), open_fds())

    def leaks_since(self, baseline: Resources, pool_threads: int = 0) -> list[str]:
        """What this snapshot holds beyond ``baseline``, described; empty when nothing.

        Args:
            baseline: the snapshot taken before.
            pool_threads: how many threads of a ``ThreadRunner`` pool (which lives as long
                as its runner, by design) may remain.
        """
        problems = []
        new = [thread for thread in threading.enumerate() if thread.ident in
               self.threads - baseline.threads]
        pool = [thread for thread in new if thread.name.startswith(POOL_THREAD_PREFIX)]
        if len(new) - len(pool) > 0 or len(pool) > pool_threads:
            problems.append(f"threads beyond the baseline and a pool of {pool_threads}: "
                            f"{sorted(thread.name for thread in new)}")
        # By pid: a process that was there before and has since ended (a zombie now) is
        # not a new one.
        known = {pid for pid, _state in baseline.children}
        new_children = {child for child in self.children if child[0] not in known}
        if new_children:
            problems.append(f"child processes left: {sorted(new_children)}")
        if self.fds != baseline.fds:
            targets = sorted(_fd_targets())
            problems.append(f"open fds {baseline.fds} -> {self.fds}: {targets}")
        return problems


def _fd_targets() -> list[str]:
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            continue
    return targets


def settled_leaks(
    baseline: Resources, timeout: float = SETTLE_SECONDS, pool_threads: int = 0
) -> list[str]:
    """Leaks beyond ``baseline``, after waiting up to ``timeout`` for them to go away (an
    abandoned thread finishing its sleep, a killed worker being reaped)."""
    deadline = time.monotonic() + timeout
    while True:
        problems = Resources.take().leaks_since(baseline, pool_threads)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.02)


@pytest.fixture
def rss() -> Callable[[], int]:
    """``rss()``: the resident set size of this process, in bytes."""
    return rss_bytes


@pytest.fixture
def leftovers() -> Callable[..., list[str]]:
    """``leftovers(baseline, timeout=..., pool_threads=0)``: the leaks ``assert_no_leaks``
    would fail on, as a list (for tests that gather problems before failing)."""
    return settled_leaks


@pytest.fixture
def resources() -> type[Resources]:
    """``Resources.take()`` snapshots threads, child processes and fds; ``leaks_since``
    compares two."""
    return Resources


@pytest.fixture
def children() -> Callable[[], list[tuple[int, str]]]:
    """``children()``: ``(pid, state)`` of every child process of this process, now, but
    those that were already there when the test started (another test's leftovers are that
    test's failure, not this one's)."""
    before = {pid for pid, _state in child_processes()}
    return lambda: [child for child in child_processes() if child[0] not in before]


@pytest.fixture
def assert_no_leaks() -> Callable[..., None]:
    """``assert_no_leaks(baseline, pool_threads=0)``: call after ``anyio.run`` returned;
    fails naming every thread (beyond ``pool_threads`` of a ThreadRunner's own pool), child
    process or fd still held beyond ``baseline`` after a short settle."""

    def check(baseline: Resources, timeout: float = SETTLE_SECONDS, pool_threads: int = 0) -> None:
        problems = settled_leaks(baseline, timeout, pool_threads)
        assert not problems, "left behind after the run: " + "; ".join(problems)

    return check


def tasks_beyond(baseline: set[asyncio.Task[Any]]) -> list[str]:
    """Tasks of the running loop that were not in ``baseline`` and are not done."""
    return sorted(
        repr(task.get_coro()) for task in asyncio.all_tasks() - baseline if not task.done()
    )


@pytest.fixture
def leaked_tasks() -> Callable[[set[asyncio.Task[Any]]], list[str]]:
    """``leaked_tasks(baseline)``: inside the loop, the live tasks not in ``baseline``."""
    return tasks_beyond


@pytest.fixture
def kill_leftover_children() -> Iterator[None]:
    """Kills (by pid) child processes a test leaked, so one leak cannot outlive its test.

    Only children born during the test are touched. When there were some, the objects that
    held them (transports of a closed loop) are collected here too, their complaints
    swallowed: the test already failed on the leak, and the next test must not."""
    before = {pid for pid, _ in child_processes()}
    yield
    leftover = [pid for pid, _ in child_processes() if pid not in before]
    for pid in leftover:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.waitpid(pid, 0)
    if leftover:
        previous, sys.unraisablehook = sys.unraisablehook, lambda _: None
        try:
            gc.collect()
        finally:
            sys.unraisablehook = previous


_SCRIPT_PREAMBLE = """\
import json, os, sys, time

def child_processes():
    me, found = os.getpid(), []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file:
                    stat = file.read()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[1]) == me:
                found.append([int(entry), fields[0]])
    return found

def report(**facts):
    print("REPORT " + json.dumps(facts, default=repr))
"""


@pytest.fixture
def run_script(tmp_path: Path) -> Callable[[str], dict[str, Any]]:
    """``run_script(code)``: run ``code`` as the main module of a fresh interpreter and
    return what it passed to ``report(**facts)``; ``child_processes()`` is defined for it.

    For faults that leak processes: a leak there cannot reach the next test, because the
    leaked workers read end-of-file and exit when that interpreter does."""

    def run(code: str) -> dict[str, Any]:
        script = tmp_path / f"script_{len(list(tmp_path.glob('script_*.py')))}.py"
        script.write_text(_SCRIPT_PREAMBLE + code)
        done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                              timeout=60, cwd=tmp_path)
        lines = [line for line in done.stdout.splitlines() if line.startswith("REPORT ")]
        assert done.returncode == 0 and lines, f"the script failed:\n{done.stderr}"
        return json.loads(lines[-1].removeprefix("REPORT "))

    return run


# -- files -------------------------------------------------------------------------------

TEMPORARY = re.compile(r"^\..+(\.tmp|\.pipeloop-tmp)$")  # the CLI's, and the datasets'


def temporary_files(root: Path) -> list[Path]:
    """Atomic-save temporaries (``.<name>.<token>.tmp``, and the datasets'
    ``.<name>.<host>-<pid>-<token>.pipeloop-tmp``) anywhere under ``root``."""
    return sorted(path for path in root.rglob("*") if TEMPORARY.match(path.name))


def unparsable_json(root: Path) -> list[str]:
    """``*.json`` files under ``root`` that are not whole JSON documents, with the error."""
    broken = []
    for path in sorted(root.rglob("*.json")):
        try:
            json.loads(path.read_bytes())
        except ValueError as exc:
            broken.append(f"{path}: {exc}")
    return broken


@pytest.fixture
def assert_whole_files() -> Callable[[Path], None]:
    """``assert_whole_files(root)``: no temporary file under ``root``, and every JSON file
    there parses (no save was left half-written)."""

    def check(root: Path) -> None:
        leftovers = temporary_files(root)
        assert not leftovers, f"temporary files left behind: {leftovers}"
        broken = unparsable_json(root)
        assert not broken, f"half-written files: {broken}"

    return check


# -- what a run did ----------------------------------------------------------------------


class CompletionRecorder:
    """Hooks recording which datasets each node saved; a node whose every output was
    saved completed, as far as anyone reading the catalog afterwards can tell."""

    def __init__(self) -> None:
        self.saved: set[str] = set()
        self.started: set[str] = set()

    def before_node_run(self, node: Node) -> None:
        self.started.add(node.name)

    def after_dataset_saved(self, dataset_name: str) -> None:
        self.saved.add(dataset_name)

    def completed(self, nodes: list[Node]) -> list[Node]:
        return [item for item in nodes if item.outputs and set(item.outputs) <= self.saved]

    def unfinished(self, nodes: list[Node]) -> list[Node]:
        done = set(self.completed(nodes))
        return [item for item in nodes if item not in done]


@pytest.fixture
def completion_recorder() -> type[CompletionRecorder]:
    """The :class:`CompletionRecorder` class: pass an instance in ``hooks=[...]``."""
    return CompletionRecorder


_ADVICE = re.compile(r'--from-nodes "([^"]*)"')


class AdviceLog(logging.Handler):
    """Collects the resume advice (``--from-nodes "a,b"``) the runner logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.advice: list[list[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        match = _ADVICE.search(record.getMessage())
        if match:
            self.advice.append([name for name in match.group(1).split(",") if name])


@contextmanager
def capture_advice() -> Iterator[AdviceLog]:
    """Within the block, every resume advice logged by ``pipeloop.runner``."""
    handler = AdviceLog()
    logger = logging.getLogger("pipeloop.runner")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def resume_advice() -> Callable[[], Any]:
    """``with resume_advice() as log: ...``; then ``log.advice`` holds the logged
    ``--from-nodes`` lists, one per failed or cancelled run."""
    return capture_advice
