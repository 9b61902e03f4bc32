"""``pipeloop run --resume``: the run record, and finishing a failed run without copy-paste."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cli_helpers import REPO, SQUARE, SQUARE_LOGGED, Invoke, read_json

from pipeloop.cli.new import scaffold

RECORD = Path(".pipeloop", "last_run.json")


def run_file(project: Path) -> Path:
    """The record of the project's newest run, by run id."""
    return project / ".pipeloop" / "runs" / f"{record(project)['run_id']}.json"


def record(project: Path) -> dict[str, Any]:
    data = read_json(project / RECORD)
    assert isinstance(data, dict)
    return data


def ran(stderr: str) -> list[str]:
    """The nodes a run started, in order, from its log."""
    return [SQUARE if found == SQUARE_LOGGED else found.split(": ")[0]
            for found in re.findall(r"Running node: (.+)", stderr)]


def test_without_a_record_there_is_nothing_to_resume(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--resume")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: Nothing to resume: no run of this project is recorded "
        f"({toy / '.pipeloop' / 'runs'} is empty)."]


def test_a_failed_run_records_its_options_and_where_to_resume(toy: Path,
                                                             invoke: Invoke) -> None:
    failed = invoke("run", "--project", toy, "--params", "fail=true", "-e", "test")
    assert failed.exit_code == 1
    saved = record(toy)
    assert saved["status"] == "failed"
    assert saved["resume_nodes"] == ["total"]
    assert saved["argv"] == ["--project", str(toy), "--params", "fail=true", "-e", "test"]
    assert saved["options"]["params"] == ["fail=true"]
    assert saved["options"]["env"] == "test"
    assert saved["ended_at"] is not None
    # Written atomically, and kept out of version control.
    # (provenance.db: what each node produced, for `pipeloop run --changed`)
    assert sorted(path.name for path in (toy / ".pipeloop").iterdir()) == [
        ".gitignore", "last_run.json", "provenance.db", "runs"]
    assert [path.name for path in (toy / ".pipeloop" / "runs").iterdir()] == [
        f"{saved['run_id']}.json"]  # one record per run
    assert (toy / ".pipeloop" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_resume_runs_only_what_did_not_finish_then_nothing_is_left(
    toy: Path, invoke: Invoke
) -> None:
    assert invoke("run", "--project", toy, "--params", "fail=true", "-e", "test").exit_code == 1

    resumed = invoke("run", "--project", toy, "--resume", "--params", "fail=false")
    assert resumed.exit_code == 0, resumed.output
    assert "Resuming the last run (started " in resumed.stderr
    assert ran(resumed.stderr) == ["total", "report"]
    # start=10 came from the recorded environment: d = sum(2a) + sum(a + 1), a = [10, 11, 12]
    assert read_json(toy / "data" / "d.json") == 66 + 36
    saved = record(toy)
    assert saved["status"] == "completed"
    assert saved["options"]["env"] == "test"
    assert saved["options"]["from_nodes"] == ["total"]
    assert saved["options"]["params"] == ["fail=false"]

    again = invoke("run", "--project", toy, "--resume")
    assert again.exit_code == 2
    assert again.stderr.startswith("Error: Nothing to resume: the last run (started ")
    assert len(again.stderr.splitlines()) == 1


def test_resume_keeps_the_recorded_filters_and_runner(toy: Path, invoke: Invoke) -> None:
    failed = invoke("run", "--project", toy, "--to-nodes", "total", "--params", "fail=true",
                    "--runner", "ThreadRunner", "--max-workers", "2")
    assert failed.exit_code == 1
    resumed = invoke("run", "--project", toy, "--resume", "--params", "fail=false")
    assert resumed.exit_code == 0, resumed.output
    assert ran(resumed.stderr) == ["total"]  # --to-nodes total still holds: no report
    options = record(toy)["options"]
    assert (options["runner_name"], options["max_workers"]) == ("ThreadRunner", 2)
    assert options["to_nodes"] == ["total"]


def test_options_given_with_resume_replace_the_recorded_ones(toy: Path,
                                                            invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "--params", "fail=true", "--parallel").exit_code == 1
    # --runner replaces the recorded --parallel too: they choose the runner together.
    resumed = invoke("run", "--project", toy, "--resume", "--runner", "SequentialRunner",
                     "--params", "fail=false")
    assert resumed.exit_code == 0, resumed.output
    options = record(toy)["options"]
    assert (options["runner_name"], options["parallel"]) == ("SequentialRunner", False)


def test_filters_cannot_be_given_with_resume(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "--params", "fail=true").exit_code == 1
    result = invoke("run", "--project", toy, "--resume", "-n", "total", "--from-nodes", "x")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "Error: --resume cannot be used with --from-nodes, --nodes: the resumed run keeps the "
        "filters of the run it resumes, from the nodes that did not finish."]
    assert record(toy)["status"] == "failed"  # untouched


def test_a_resumed_run_that_fails_again_prints_the_full_command(toy: Path,
                                                              invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "-p", "all", "--params", "fail=true").exit_code == 1
    again = invoke("run", "--project", toy, "--resume")
    assert again.exit_code == 1
    assert again.stderr.splitlines()[-2:] == [
        "Error: Node 'total' failed: ValueError: boom",
        f'Resume with: pipeloop run --from-nodes total --pipeline all --params fail=true '
        f"--project {toy}",
    ]
    assert record(toy)["resume_nodes"] == ["total"]
    assert invoke("run", "--project", toy, "--resume", "--params", "fail=0").exit_code == 0


def test_keep_going_resumes_every_failed_branch(toy: Path, invoke: Invoke) -> None:
    failed = invoke("run", "--project", toy, "--params", "fail=true", "--keep-going")
    assert failed.exit_code == 1
    assert SQUARE in ran(failed.stderr)
    assert record(toy)["resume_nodes"] == ["total"]
    resumed = invoke("run", "--project", toy, "--resume", "--params", "fail=false")
    assert resumed.exit_code == 0, resumed.output
    assert ran(resumed.stderr) == ["total", "report"]
    assert record(toy)["options"]["keep_going"] is True


def test_a_failure_before_any_node_resumes_from_the_start(toy: Path, invoke: Invoke) -> None:
    failed = invoke("run", "--project", toy, "-p", "orphan")  # its input exists nowhere
    assert failed.exit_code == 1
    assert record(toy)["status"] == "failed"
    assert record(toy)["resume_nodes"] == []
    resumed = invoke("run", "--project", toy, "--resume", "-p", "left")
    assert resumed.exit_code == 0, resumed.output
    assert "from the start" in resumed.stderr
    assert ran(resumed.stderr) == ["make", "double"]


def test_a_command_that_stops_before_running_keeps_the_record(toy: Path,
                                                              invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "--params", "fail=true").exit_code == 1
    before = (toy / RECORD).read_text()
    assert invoke("run", "--project", toy, "-p", "no-such-pipeline").exit_code == 2
    assert invoke("run", "--project", toy, "--resume", "--env", "missing").exit_code == 1
    assert (toy / RECORD).read_text() == before


def test_a_record_left_running_cannot_be_resumed(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "-p", "left").exit_code == 0
    data = record(toy)
    data["status"] = "running"  # as a run killed with SIGKILL leaves it
    run_file(toy).write_text(json.dumps(data))
    result = invoke("run", "--project", toy, "--resume")
    assert result.exit_code == 2
    assert "has not recorded how it ended; it is still running, or was killed" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        f"Run it again with: pipeloop run --project {toy} -p left")


def test_an_unreadable_record_says_what_to_do(toy: Path, invoke: Invoke) -> None:
    broken = toy / ".pipeloop" / "runs" / "broken.json"
    broken.parent.mkdir(parents=True)
    broken.write_text("{not json")
    result = invoke("run", "--project", toy, "--resume")
    assert result.exit_code == 1
    assert f"Error: Cannot read the run record {broken}" in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "Delete it, then run the pipeline without --resume.")
    broken.write_text(json.dumps({"format": 2, "run_id": "broken", "status": "failed",
                                  "started_at": "2026-01-01T00:00:00", "ended_at":
                                  "2026-01-01T00:00:01", "request": {}, "argv": [],
                                  "resume_nodes": [], "options": {"max_workers": "x"}}))
    result = invoke("run", "--project", toy, "--resume")
    assert result.exit_code == 1
    assert "holds an invalid value for --max-workers" in result.stderr


def test_the_record_is_ignored_by_git_in_new_projects_and_the_example(tmp_path: Path) -> None:
    scaffold(tmp_path / "demo", "demo", "demo")
    assert ".pipeloop/" in (tmp_path / "demo" / ".gitignore").read_text().splitlines()
    iris_ignore = REPO / "examples" / "iris" / ".gitignore"
    assert ".pipeloop/" in iris_ignore.read_text().splitlines()
