"""Re-running only what changed: ``pipeloop status``, ``pipeloop run --changed`` /
``--force-nodes``, ``pipeline describe --status``, and ``Project.run(only_changed=True)``."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
from cli_helpers import SQUARE, Invoke, read_json
from test_cli_run import ALL_NODES, ran

from pipeloop.engine.project import Project


def status_of(invoke: Invoke, toy: Path, *args: str) -> dict[str, dict]:
    result = invoke("status", "--project", toy, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    return {row["node"]: row for row in document["nodes"]}


def test_status_before_and_after_a_run(toy: Path, invoke: Invoke) -> None:
    result = invoke("status", "--project", toy)
    assert result.exit_code == 0, result.output
    assert "make" in result.stdout and "stale: never run" in result.stdout
    assert result.stdout.rstrip().endswith("6 stale, 0 fresh")
    assert invoke("run", "--project", toy).exit_code == 0
    rows = status_of(invoke, toy)
    assert list(rows) == ALL_NODES
    assert {row["status"] for row in rows.values()} == {"fresh"}


def test_edit_a_parameter_see_it_in_status_and_run_only_that(toy: Path,
                                                             invoke: Invoke) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    parameters = toy / "conf" / "base" / "parameters.yml"
    parameters.write_text(parameters.read_text().replace("factor: 2", "factor: 3"))
    rows = status_of(invoke, toy)
    assert rows["double"]["reasons"] == ["parameter `scale.factor` changed"]
    assert rows["total"]["reasons"] == ["input `b` changed"]
    assert rows["report"]["reasons"] == ["input `d` changed"]
    assert {name for name, row in rows.items() if row["status"] == "fresh"} == {
        "make", "extra.inc", SQUARE}

    result = invoke("run", "--project", toy, "--changed")
    assert result.exit_code == 0, result.output
    assert ran(result.stderr) == ["double", "total", "report"]
    skipped = [line for line in result.stderr.splitlines() if "Skipping node" in line]
    assert len(skipped) == 3
    assert any("Skipping node 'make': fresh, unchanged since run" in line for line in skipped)
    assert read_json(toy / "data" / "d.json") == (3 + 6 + 9) + (2 + 3 + 4)

    again = invoke("run", "--project", toy, "--changed")
    assert ran(again.stderr) == []
    assert "Nothing to run: all 6 node(s) are fresh." in again.stderr
    assert "No node ran: there was nothing to run." in again.stderr
    assert "completed successfully" not in again.stderr


def test_a_hand_edited_or_deleted_output_reruns_its_node(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    (toy / "data" / "c.json").write_text("[100]")
    (toy / "data" / "d.json").unlink()
    rows = status_of(invoke, toy)
    assert rows["extra.inc"]["reasons"] == ["output `c` modified"]
    assert rows["total"]["reasons"] == ["output `d` missing"]
    result = invoke("run", "--project", toy, "--changed")
    # report reads d and e as they were: its fingerprint is unchanged, so it stays skipped
    assert ran(result.stderr) == ["extra.inc", "total"]
    assert read_json(toy / "data" / "c.json") == [2, 3, 4]
    assert read_json(toy / "data" / "d.json") == 21


def test_force_nodes_run_with_their_descendants(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    result = invoke("run", "--project", toy, "--force-nodes", "extra.inc")
    assert result.exit_code == 0, result.output
    assert ran(result.stderr) == ["extra.inc", SQUARE, "total", "report"]
    bad = invoke("run", "--project", toy, "--changed", "--force-nodes", "nope")
    assert bad.exit_code != 0
    assert "nope" in bad.output


def test_describe_mermaid_colours_stale_nodes(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "--nodes", "make").exit_code == 0
    result = invoke("pipeline", "describe", "--project", toy, "--format", "mermaid",
                    "--status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "    class n0 fresh" in lines  # make, first in execution order
    assert any(line.startswith("    class n1,") and line.endswith(" stale") for line in lines)
    refused = invoke("pipeline", "describe", "--project", toy, "--status")
    assert refused.exit_code == 2


def test_status_takes_params_and_filters(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    rows = status_of(invoke, toy, "--params", "start=5", "--nodes", "make,double")
    assert list(rows) == ["make", "double"]
    assert rows["make"]["reasons"] == ["parameter `start` changed"]


def test_project_run_only_changed(toy: Path) -> None:
    async def scenario() -> None:
        project = Project.load(toy)
        report = await project.run()
        assert len(report.completed_nodes) == 6
        assert (await project.status()).stale == []
        report = await project.run(only_changed=True, params={"start": 7})
        assert report.completed_nodes == ["make", "double", "extra.inc", SQUARE, "total",
                                          "report"]
        report = await project.run(only_changed=True, params={"start": 7})
        assert report.completed_nodes == []
        report = await project.run(force_nodes=["total"], params={"start": 7})
        assert report.completed_nodes == ["total", "report"]
        assert (toy / ".pipeloop" / "provenance.db").is_file()

    anyio.run(scenario)
