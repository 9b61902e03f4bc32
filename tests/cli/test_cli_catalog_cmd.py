"""``pipeloop catalog list``: datasets per pipeline, by type, and those left in memory."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from cli_helpers import Invoke


def test_list_groups_datasets_by_type(toy: Path, invoke: Invoke) -> None:
    result = invoke("catalog", "list", "--project", toy, "-p", "left", "-p", "orphan")
    assert result.exit_code == 0, result.output
    assert yaml.safe_load(result.stdout) == {
        "left": {"JSONDataset": ["a", "b"], "parameters": ["params:scale.factor",
                                                           "params:start"]},
        "orphan": {"not in the catalog (MemoryDataset)": ["nowhere", "z"]},
    }


def test_list_every_pipeline_as_json(toy: Path, invoke: Invoke) -> None:
    result = invoke("catalog", "list", "--project", toy, "--format", "json")
    listing = json.loads(result.stdout)
    assert sorted(listing) == ["__default__", "all", "left", "orphan", "right"]
    assert listing["all"]["not in the catalog (MemoryDataset)"] == ["summary"]


def test_list_with_another_environment(toy: Path, invoke: Invoke) -> None:
    result = invoke("catalog", "list", "--project", toy, "-e", "test", "-p", "left")
    assert result.exit_code == 0, result.output
    bad = invoke("catalog", "list", "--project", toy, "-e", "nope")
    assert bad.exit_code == 1
    assert "environment 'nope' not found" in bad.stderr


def test_list_an_unknown_pipeline(toy: Path, invoke: Invoke) -> None:
    result = invoke("catalog", "list", "--project", toy, "-p", "nope")
    assert result.exit_code == 2
    assert "Error: Unknown pipeline 'nope'." in result.stderr
