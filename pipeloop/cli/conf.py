"""Opening the project a command works on, with its secrets in the command's mask."""

from __future__ import annotations

import os
from pathlib import Path

from pipeloop.cli.errors import UsageProblem
from pipeloop.cli.masking import credential_strings, current_mask
from pipeloop.engine.project import Project

__all__ = ["open_project"]


def open_project(
    path: str | os.PathLike[str] | None,
    *,
    env: str | None = None,
    conf_source: Path | None = None,
) -> Project:
    """The project at ``path`` (or above the current folder) for ``--env`` and
    ``--conf-source``. Its credentials join the command's secret mask first, so nothing the
    command prints or writes afterwards shows them (not even an error building the catalog).

    Raises:
        UsageProblem: ``--conf-source`` is not a folder (exit status 2).
        ProjectNotFoundError: no project there (exit status 2).
        ConfigError: the settings or configuration folders are invalid (exit status 1).
    """
    if conf_source is not None and not conf_source.is_dir():
        raise UsageProblem(f"Invalid value for '--conf-source': folder "
                           f"'{conf_source.resolve()}' does not exist.")
    project = Project.load(path, env=env, conf_source=conf_source)
    current_mask().add(credential_strings(project.config_loader()))
    return project
