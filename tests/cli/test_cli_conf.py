"""Building the catalog from the project's configuration and the command's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeloop.cli.conf import load_catalog
from pipeloop.cli.errors import UsageProblem
from pipeloop.cli.project import read_project
from pipeloop.errors import ConfigError


def test_the_catalog_holds_datasets_and_parameters_with_runtime_overrides(toy: Path) -> None:
    catalog = load_catalog(read_project(toy), runtime_params={"scale.factor": 5})
    assert type(catalog["a"]).__name__ == "JSONDataset"
    assert "params:start" in catalog
    assert catalog["params:scale.factor"]._data == 5  # type: ignore[attr-defined]


def test_env_and_conf_source(toy: Path) -> None:
    catalog = load_catalog(read_project(toy), env="test")
    assert catalog["params:start"]._data == 10  # type: ignore[attr-defined]
    with pytest.raises(UsageProblem, match=r"folder '.*nowhere' does not exist"):
        load_catalog(read_project(toy), conf_source=toy / "nowhere")


def test_invalid_configuration_is_a_config_error(toy: Path) -> None:
    (toy / "conf" / "base" / "catalog.yml").write_text("a:\n  type: NoSuchDataset\n")
    with pytest.raises(ConfigError, match="unknown dataset type 'NoSuchDataset'"):
        load_catalog(read_project(toy))


def test_load_versions_of_a_dataset_that_is_not_versioned_is_a_usage_error(toy: Path) -> None:
    with pytest.raises(UsageProblem, match="Invalid value for '--load-versions'"):
        load_catalog(read_project(toy), load_versions={"a": "v1"})
