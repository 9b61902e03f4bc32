"""Ctrl-C, SIGTERM and SIGHUP during a real ``pipeloop run`` process: a clean stop, exit
status 128 + the signal, no half-written file, the resume hint, and a ``--resume`` that
finishes.

The test project's middle node waits until the test creates ``data/go``: as an
``async def`` (cancellable), as a plain function (inline on the loop, where the signal
interrupts it; in a thread, where it cannot be, and gets the grace period), behind a load
that blocks in a thread, or in the middle of saving its output (a temporary file half
written). Other pipelines have a node that raises ``SystemExit`` or ``KeyboardInterrupt``
itself.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from child_processes import default_signals
from cli_helpers import Invoke, read_json, write_files

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

PACKAGE = "sigproj"

FILES = {
    "pyproject.toml": f"""
        [project]
        name = "{PACKAGE}"
        version = "0.1.0"

        [tool.pipeloop]
        package = "{PACKAGE}"
    """,
    "conf/base/catalog.yml": """
        a:
          type: JSONDataset
          filepath: data/a.json
        b:
          type: JSONDataset
          filepath: data/b.json
        c:
          type: JSONDataset
          filepath: data/c.json
        slow_b:
          type: sigproj.datasets.SlowText
          filepath: data/slow_b.txt
        hung:
          type: sigproj.datasets.HungLoad
    """,
    f"src/{PACKAGE}/__init__.py": "",
    f"src/{PACKAGE}/datasets.py": """
        import time
        from pathlib import Path

        import anyio

        from pipeloop import AbstractDataset
        from pipeloop.datasets import TextDataset


        class SlowText(TextDataset):
            '''Writes its first bytes, then waits for data/go before writing the rest.'''

            async def _write_content(self, file, content):
                await file.write(content[:4])
                await file.flush()
                Path("data/saving").touch()
                while not Path("data/go").exists():
                    await anyio.sleep(0.02)
                await file.write(content[4:])


        class HungLoad(AbstractDataset):
            '''A load that blocks in its thread (a FIFO, a stale mount) until data/go.'''

            def _load(self):
                Path("data/started").touch()
                while not Path("data/go").exists():
                    time.sleep(0.02)
                return [1, 2, 3]

            def _save(self, data):
                raise NotImplementedError

            def _describe(self):
                return {}
    """,
    f"src/{PACKAGE}/nodes.py": """
        import sys
        import time
        from pathlib import Path

        import anyio


        def first():
            return [1, 2, 3]


        async def wait_async(a):
            Path("data/started").touch()
            while not Path("data/go").exists():
                await anyio.sleep(0.02)
            return [x * 2 for x in a]


        def wait_sync(a):
            Path("data/started").touch()
            try:
                while not Path("data/go").exists():
                    time.sleep(0.02)
            except KeyboardInterrupt:
                Path("data/interrupted").touch()
                raise
            return [x * 2 for x in a]


        def exits(a):
            sys.exit(3)


        def interrupts_itself(a):
            raise KeyboardInterrupt


        def as_text(a):
            Path("data/started").touch()
            return "doubled: " + ",".join(str(x * 2) for x in a)


        def last(b):
            return sum(b) if isinstance(b, list) else len(b)
    """,
    f"src/{PACKAGE}/pipeline_registry.py": """
        from pipeloop import Pipeline, node

        from sigproj.nodes import (
            as_text, exits, first, interrupts_itself, last, wait_async, wait_sync,
        )


        def register_pipelines():
            def three(middle, b="b"):
                return Pipeline([
                    node(first, None, "a", name="first"),
                    node(middle, "a", b, name="wait"),
                    node(last, b, "c", name="last"),
                ])

            return {"__default__": three(wait_async), "sync": three(wait_sync),
                    "saving": three(as_text, "slow_b"), "exits": three(exits),
                    "interrupts": three(interrupts_itself),
                    "hung": Pipeline([node(last, "hung", "c", name="last")])}
    """,
}

TIMEOUT = 60.0  # only a bound on a hang: never reached when all is well

#: Every ``Run`` of the current test, reaped when the test ends, whatever happened.
STARTED: list[Run] = []


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    root = write_files(tmp_path / PACKAGE, FILES)
    (root / "data").mkdir()
    yield root
    (root / "data" / "go").touch()  # let any process still waiting finish
    while STARTED:
        run = STARTED.pop()
        try:
            run.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            run.kill()
    for name in [name for name in sys.modules if name.split(".")[0] == PACKAGE]:
        del sys.modules[name]


class Run:
    """``pipeloop run`` in its own process, stderr going to a file the test can poll."""

    def __init__(self, project: Path, *args: str, new_session: bool = False) -> None:
        self.project = project
        self.stderr_path = project.parent / "stderr.txt"
        env = {key: value for key, value in os.environ.items()
               if not key.startswith("PIPELOOP_")}
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pipeloop.cli.main", "run", *args], cwd=project,
                env=env, stdout=subprocess.DEVNULL, stderr=stderr,
                start_new_session=new_session, preexec_fn=default_signals)
        STARTED.append(self)

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_for(self, what: str) -> None:
        """Until ``data/<what>`` exists (or, with a space in it, stderr says ``what``)."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            found = what in self.stderr if " " in what else (self.project / "data" / what).exists()
            if found:
                return
            if self.process.poll() is not None:
                pytest.fail(f"pipeloop exited ({self.process.returncode}) before {what!r}:\n"
                            f"{self.stderr}")
            time.sleep(0.02)
        self.kill()
        pytest.fail(f"no {what!r} within {TIMEOUT} s:\n{self.stderr}")

    def finish(self) -> int:
        try:
            return self.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"pipeloop did not stop:\n{self.stderr}")

    def kill(self) -> None:
        """Kill the process and reap it: a failing test leaves no process, not even a
        zombie that another test's leak check would count."""
        self.process.kill()
        self.process.wait()


def leftovers(project: Path) -> list[str]:
    """Temporary files left anywhere in the project (datasets' and the CLI's own)."""
    return sorted(path.name for pattern in ("*.pipeloop-tmp", "*.tmp", "*.tmp-pipeloop")
                  for path in project.rglob(pattern))


def recorded(project: Path) -> dict[str, object]:
    data = read_json(project / ".pipeloop" / "last_run.json")
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize(("signum", "status"),
                         [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_cancels_the_run_and_resume_finishes_it(
    project: Path, invoke: Invoke, signum: signal.Signals, status: int
) -> None:
    run = Run(project, "--runner", "ThreadRunner")
    run.wait_for("started")
    run.process.send_signal(signum)
    assert run.finish() == status
    stderr = run.stderr
    assert f"{signum.name} received: stopping the run; no new node starts." in stderr
    assert stderr.splitlines()[-2:] == [
        f"Error: Interrupted by {signum.name}: the run was cancelled; 1 of 3 node(s) "
        "completed.",
        'Resume with: pipeloop run --from-nodes wait --runner ThreadRunner',
    ]
    assert "Traceback" not in stderr
    assert sorted(path.name for path in (project / "data").iterdir()) == ["a.json", "started"]
    assert leftovers(project) == []
    assert (recorded(project)["status"], recorded(project)["resume_nodes"]) == (
        "interrupted", ["wait"])

    (project / "data" / "go").touch()
    resumed = invoke("run", "--project", project, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "Running node: first" not in resumed.stderr
    assert read_json(project / "data" / "c.json") == 12
    assert recorded(project)["status"] == "completed"


def test_a_save_cut_short_leaves_no_file(project: Path, invoke: Invoke) -> None:
    run = Run(project, "-p", "saving")
    run.wait_for("saving")
    assert len(leftovers(project)) == 1  # the output, half written
    run.process.send_signal(signal.SIGINT)
    assert run.finish() == 130
    assert not (project / "data" / "slow_b.txt").exists()
    assert leftovers(project) == []
    assert 'Resume with: pipeloop run --from-nodes wait -p saving' in run.stderr

    (project / "data" / "go").touch()
    resumed = invoke("run", "--project", project, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert (project / "data" / "slow_b.txt").read_text() == "doubled: 2,4,6"


SIGNALS = pytest.mark.parametrize(
    ("signum", "status"),
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
    ids=["SIGINT", "SIGTERM", "SIGHUP"])


@SIGNALS
def test_the_first_signal_interrupts_a_plain_function_running_inline(
    project: Path, signum: signal.Signals, status: int
) -> None:
    # SequentialRunner runs plain functions on the main thread: the signal handler stops
    # the function where it stands (it sees KeyboardInterrupt), and no later node starts.
    # The function would never return by itself: data/go is never created.
    run = Run(project, "-p", "sync")
    run.wait_for("started")
    run.process.send_signal(signum)
    assert run.finish() == status
    assert (project / "data" / "interrupted").exists()
    stderr = run.stderr
    assert "Running node: last" not in stderr
    assert "Traceback" not in stderr
    assert stderr.splitlines()[-2:] == [
        f"Error: Interrupted by {signum.name}: the run was cancelled; 1 of 3 node(s) "
        "completed.",
        "Resume with: pipeloop run --from-nodes wait -p sync",
    ]
    assert not (project / "data" / "b.json").exists()
    assert leftovers(project) == []
    assert (recorded(project)["status"], recorded(project)["resume_nodes"]) == (
        "interrupted", ["wait"])


def test_threads_get_the_grace_period_then_the_process_exits_anyway(project: Path) -> None:
    # A plain function in a thread cannot be interrupted: the run waits for it at most the
    # grace period, saying so, then exits although the thread never ends.
    run = Run(project, "-p", "sync", "--runner", "ThreadRunner",
              "--runner-params", "grace_period=1")
    run.wait_for("started")
    run.process.send_signal(signal.SIGTERM)
    assert run.finish() == 143
    stderr = run.stderr
    assert ("Waiting up to 1 s for the node(s) still running in threads to finish: wait."
            in stderr)
    assert "Stopped waiting for: wait; their work is abandoned." in stderr
    assert stderr.splitlines()[-1] == (
        "Resume with: pipeloop run --from-nodes wait -p sync --runner ThreadRunner "
        "--runner-params grace_period=1")
    assert "Traceback" not in stderr
    assert (recorded(project)["status"], recorded(project)["resume_nodes"]) == (
        "interrupted", ["wait"])


def test_a_node_that_ends_in_the_grace_period_counts_as_done(
    project: Path, invoke: Invoke
) -> None:
    run = Run(project, "-p", "sync", "--runner", "ThreadRunner",
              "--runner-params", "grace_period=600")
    run.wait_for("started")
    run.process.send_signal(signal.SIGINT)
    run.wait_for("Waiting up to 600 s for the node(s) still running in threads")
    (project / "data" / "go").touch()
    assert run.finish() == 130
    # The node finished and saved its output; the next one never started.
    assert read_json(project / "data" / "b.json") == [2, 4, 6]
    assert "Running node: last" not in run.stderr
    assert (recorded(project)["status"], recorded(project)["resume_nodes"]) == (
        "interrupted", ["last"])
    assert run.stderr.splitlines()[-1].startswith("Resume with: pipeloop run --from-nodes last")

    resumed = invoke("run", "--project", project, "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "Running node: wait" not in resumed.stderr
    assert read_json(project / "data" / "c.json") == 12


def test_a_second_signal_ends_the_grace_period_at_once(project: Path) -> None:
    run = Run(project, "-p", "sync", "--runner", "ThreadRunner",
              "--runner-params", "grace_period=600")
    run.wait_for("started")
    run.process.send_signal(signal.SIGINT)
    run.wait_for("Waiting up to 600 s")
    # The record is written at the first signal, before the second can end the process.
    assert (recorded(project)["status"], recorded(project)["resume_nodes"]) == (
        "interrupted", ["wait"])
    run.process.send_signal(signal.SIGINT)
    assert run.finish() == -signal.SIGINT
    assert "Traceback" not in run.stderr


def test_a_signal_does_not_wait_for_a_load_blocked_in_its_thread(project: Path) -> None:
    run = Run(project, "-p", "hung")
    run.wait_for("started")
    run.process.send_signal(signal.SIGINT)
    assert run.finish() == 130
    assert run.stderr.splitlines()[-1] == "Resume with: pipeloop run --from-nodes last -p hung"
    assert recorded(project)["status"] == "interrupted"


@pytest.mark.parametrize(("pipeline", "raised"), [("exits", "SystemExit(3)"),
                                                  ("interrupts", "KeyboardInterrupt()")])
def test_a_node_raising_system_exit_or_keyboard_interrupt_is_its_failure(
    project: Path, pipeline: str, raised: str
) -> None:
    run = Run(project, "-p", pipeline)
    assert run.finish() == 1
    stderr = run.stderr
    assert stderr.splitlines()[-2:] == [
        f"Error: Node 'wait' failed: Node 'wait' raised {raised}; a node "
        "cannot end the process or the run. Raise an exception to fail the node.",
        f"Resume with: pipeloop run --from-nodes wait -p {pipeline}",
    ]
    assert "Running node: last" not in stderr
    assert (recorded(project)["status"], recorded(project)["resume_nodes"]) == (
        "failed", ["wait"])


def test_ctrl_c_at_a_terminal_also_reaches_the_worker_processes(project: Path) -> None:
    # A terminal sends Ctrl-C to its whole foreground process group, workers included:
    # they leave it to the parent, which cancels the run and stops them.
    run = Run(project, "-p", "sync", "--parallel", "--max-workers", "1", new_session=True)
    run.wait_for("started")
    os.killpg(run.process.pid, signal.SIGINT)
    assert run.finish() == 130
    assert "Traceback" not in run.stderr
    assert run.stderr.splitlines()[-1] == (
        'Resume with: pipeloop run --from-nodes wait -p sync --parallel --max-workers 1')
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:  # no worker outlives the run
        try:
            os.killpg(run.process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        pytest.fail("a worker process outlived the run")


def test_a_run_in_process_leaves_the_signal_handlers_as_it_found_them(
    project: Path, invoke: Invoke
) -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    (project / "data" / "go").touch()
    assert invoke("run", "--project", project).exit_code == 0
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_two_runs_at_once_keep_both_records_and_resume_finds_the_failure(
    project: Path, invoke: Invoke
) -> None:
    # A run still going when another one fails, then succeeds: the success is the newest
    # record, but --resume must still find the failure it needs.
    slow = Run(project)
    slow.wait_for("started")
    failing = Run(project, "-p", "exits")
    assert failing.finish() == 1
    (project / "data" / "go").touch()
    assert slow.finish() == 0
    assert recorded(project)["status"] == "completed"
    statuses = sorted(read_json(path)["status"]  # type: ignore[index]
                      for path in (project / ".pipeloop" / "runs").glob("*.json"))
    assert statuses == ["completed", "failed"]

    resumed = invoke("run", "--project", project, "--resume")
    assert resumed.exit_code == 1
    assert "Node 'wait' raised SystemExit(3)" in resumed.stderr  # the 'exits' pipeline again
    assert "Running node: first" not in resumed.stderr
