"""The project's catalog, from its configuration folder and the command's options."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pipeloop.cli.errors import UsageProblem
from pipeloop.cli.masking import credential_strings, current_mask
from pipeloop.cli.project import Project
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.config import ConfigLoader, catalog_from_conf
from pipeloop.errors import ConfigError

__all__ = ["load_catalog"]


def load_catalog(
    project: Project,
    *,
    env: str | None = None,
    conf_source: Path | None = None,
    runtime_params: Mapping[str, Any] | None = None,
    load_versions: Mapping[str, str] | None = None,
) -> DataCatalog:
    """The catalog a command works with: datasets, factories and parameters.

    The project's credentials join the command's secret mask first, so nothing the command
    prints or writes afterwards shows them (not even an error building the catalog).

    Args:
        project: the project, whose ``conf_source`` is used unless ``conf_source`` is given.
        env: ``--env``; ``None`` for the default run environment (``local``).
        conf_source: ``--conf-source``, an absolute path.
        runtime_params: ``--params``, merged over the configured parameters.
        load_versions: ``--load-versions``.

    Raises:
        ConfigError: the configuration is invalid (exit status 1).
        UsageProblem: ``--conf-source`` does not exist, or ``--load-versions`` names a
            dataset the catalog does not version (exit status 2).
    """
    if conf_source is not None and not conf_source.is_dir():
        raise UsageProblem(f"Invalid value for '--conf-source': folder '{conf_source}' does "
                           "not exist.")
    loader = ConfigLoader(conf_source or project.conf_source, env,
                          runtime_params=runtime_params)
    current_mask().add(credential_strings(loader))
    catalog = catalog_from_conf(loader)
    if not load_versions:
        return catalog
    # The configuration is valid (it just built): an error now comes from the versions.
    try:
        return catalog_from_conf(loader, load_versions=load_versions)
    except ConfigError as exc:
        raise UsageProblem(f"Invalid value for '--load-versions': {exc}") from exc
