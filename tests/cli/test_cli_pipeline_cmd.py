"""``pipeloop pipeline list`` and ``pipeloop pipeline describe``."""

from __future__ import annotations

import json
from pathlib import Path

from cli_helpers import Invoke


def test_list_names_every_pipeline_with_its_size(toy: Path, invoke: Invoke) -> None:
    result = invoke("pipeline", "list", "--project", toy)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "__default__\t6 node(s)", "all\t6 node(s)", "left\t2 node(s)", "orphan\t1 node(s)",
        "right\t2 node(s)"]


def test_describe_defaults_to_the_default_pipeline(toy: Path, invoke: Invoke) -> None:
    result = invoke("pipeline", "describe", "--project", toy)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Pipeline '__default__': 6 node(s)\n")


def test_describe_formats(toy: Path, invoke: Invoke) -> None:
    described = json.loads(invoke("pipeline", "describe", "left", "--format", "json",
                                  "--project", toy).stdout)
    assert [item["name"] for item in described["nodes"]] == ["make", "double"]
    mermaid = invoke("pipeline", "describe", "left", "--format", "mermaid", "--project", toy)
    assert mermaid.stdout.startswith("flowchart TD\n")


def test_describe_an_unknown_pipeline(toy: Path, invoke: Invoke) -> None:
    result = invoke("pipeline", "describe", "rihgt", "--project", toy)
    assert result.exit_code == 2
    assert "Error: Unknown pipeline 'rihgt'. Did you mean 'right'?" in result.stderr


def test_an_unknown_format_is_clicks_usage_error(toy: Path, invoke: Invoke) -> None:
    result = invoke("pipeline", "describe", "--format", "svg", "--project", toy)
    assert result.exit_code == 2
    assert "Invalid value for '--format'" in result.stderr


def test_no_project(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("pipeline", "list", "--project", tmp_path)
    assert result.exit_code == 2
    assert "Error: No pipeloop project at" in result.stderr
