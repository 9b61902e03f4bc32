"""Options several commands share: where the project is, and which configuration to read."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

__all__ = ["conf_options", "project_option"]

def project_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--project PATH``: the project folder (default: the current folder or a parent)."""
    return click.option(
        "--project", "project_path", type=click.Path(file_okay=False, path_type=Path),
        envvar="PIPELOOP_PROJECT",
        help="The project folder (default: the nearest folder at or above the current one "
        "whose pyproject.toml has a [tool.pipeloop] table).",
    )(func)


def conf_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--env/-e`` and ``--conf-source``."""
    func = click.option(
        "--conf-source", type=click.Path(file_okay=False, path_type=Path),
        help="The configuration folder (default: the project's conf_source, 'conf').",
    )(func)
    return click.option(
        "--env", "-e", envvar="PIPELOOP_ENV",
        help="The configuration environment overlaid on conf/base (default: local).",
    )(func)
