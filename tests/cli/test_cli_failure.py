"""What a failed run prints: the error, the node, and the command that resumes the run."""

from __future__ import annotations

import shlex
from pathlib import Path

from cli_helpers import Invoke

from pipeloop import DataCatalog, MemoryDataset, Pipeline, RunReport, SequentialRunner, node
from pipeloop.cli.failure import resume_line, run_failure
from pipeloop.errors import NodesFailedError


def test_resume_line_replaces_from_nodes_and_keeps_the_rest_shell_quoted() -> None:
    argv = ["--from-nodes", "x", "-p", "ds", "--params", "a=b c", "--from-nodes=y"]
    line = resume_line(argv, ["odd name", "it's", "$HOME"])
    assert line == ("pipeloop run --from-nodes 'odd name,it'\"'\"'s,$HOME' -p ds "
                    "--params 'a=b c'")
    assert shlex.split(line)[3] == "odd name,it's,$HOME"  # a shell reads the names back
    assert resume_line([], ["g"]) == "pipeloop run --from-nodes g"


def test_a_failure_outside_any_node_has_no_resume_line() -> None:
    error = run_failure(RuntimeError("cancelled"), RunReport(), [])
    assert error.format_message() == "RuntimeError: cancelled"
    assert error.exit_code == 1


def _fails(x: int) -> int:
    raise ValueError(f"bad {x}")


async def test_keep_going_failures_list_every_node_from_the_report() -> None:
    pipe = Pipeline([node(_fails, "x", "a", name="n1"), node(_fails, "x", "b", name="n2")])
    report = RunReport()
    try:
        await SequentialRunner().run(pipe, DataCatalog({"x": MemoryDataset(1)}),
                                     keep_going=True, report=report)
    except NodesFailedError as group:
        error = run_failure(group, report, ["-p", "x"])
    assert error.format_message() == (
        "2 node(s) failed: 'n1' (ValueError: bad 1); 'n2' (ValueError: bad 1)\n"
        "Resume with: pipeloop run --from-nodes n1,n2 -p x")


def test_a_node_failure_is_two_lines_and_exit_status_one(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--params", "fail=true", "-r", "SequentialRunner")
    assert result.exit_code == 1
    error_lines = result.stderr.splitlines()[-2:]
    assert error_lines == [
        "Error: Node 'total' failed: ValueError: boom",
        f"Resume with: pipeloop run --from-nodes total --project {toy} --params fail=true "
        "-r SequentialRunner",
    ]
    assert "Traceback" not in result.stderr
    assert "Node 'total' failed with error: ValueError('boom')" in result.stderr  # the log


def test_the_resume_command_finishes_the_run(toy: Path, invoke: Invoke) -> None:
    failed = invoke("run", "--project", toy, "--params", "fail=true")
    assert failed.exit_code == 1
    resumed = invoke("run", "--project", toy, "--from-nodes", "total")
    assert resumed.exit_code == 0, resumed.output
    assert "Completed 2 out of 2 tasks" in resumed.stderr


def test_verbose_shows_the_nodes_traceback(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--params", "fail=true", "--verbose")
    assert result.exit_code == 1
    assert "Traceback (most recent call last):" in result.stderr
    assert 'raise ValueError("boom")' in result.stderr
    assert result.stderr.splitlines()[-2] == "Error: Node 'total' failed: ValueError: boom"


def test_a_load_failure_names_the_node(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    (toy / "data" / "c.json").write_text("{broken")
    # --no-async: the other inputs are not being loaded when this one fails
    result = invoke("run", "--project", toy, "--from-nodes", "total", "--no-async")
    assert result.exit_code == 1
    assert "Error: Node 'total' failed: c: Failed while loading data from dataset" in result.stderr
    assert "Resume with: pipeloop run --from-nodes total" in result.stderr


def test_a_missing_input_file_names_its_entry_and_shows_the_dataset_once(
    toy: Path, invoke: Invoke
) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    (toy / "data" / "c.json").unlink()
    result = invoke("run", "--project", toy, "--from-nodes", "total", "--no-async")
    assert result.exit_code == 1
    error = next(line for line in result.stderr.splitlines() if line.startswith("Error:"))
    assert error.startswith("Error: Node 'total' failed: c: Failed while loading data from "
                            "dataset JSONDataset(")
    assert error.count("JSONDataset(") == 1
    assert "c.json" in error


def test_an_import_error_in_a_node_module_gives_its_file_and_line(
    toy: Path, invoke: Invoke
) -> None:
    nodes = toy / "src" / "toy" / "nodes.py"
    nodes.write_text("import logging\nimport no_such_module_anywhere\n" + nodes.read_text())
    result = invoke("run", "--project", toy)
    assert result.exit_code == 1
    assert "ModuleNotFoundError: No module named 'no_such_module_anywhere'" in result.stderr
    assert f"(at {nodes}, line 2)" in result.stderr


def test_an_error_raised_while_registering_gives_its_file_and_line(
    toy: Path, invoke: Invoke
) -> None:
    registry = toy / "src" / "toy" / "pipeline_registry.py"
    registry.write_text(registry.read_text().replace(
        "def register_pipelines():\n", "def register_pipelines():\n    raise RuntimeError('no')\n"))
    line = registry.read_text().splitlines().index("    raise RuntimeError('no')") + 1
    result = invoke("run", "--project", toy)
    assert result.exit_code == 1
    assert f"RuntimeError: no (at {registry}, line {line})" in result.stderr
