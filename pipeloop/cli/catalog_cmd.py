"""``pipeloop catalog list``: the datasets each pipeline uses, by type.

Datasets the catalog does not hold are listed apart: a run keeps them in memory
(``MemoryDataset``), so they are lost when it ends.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import click
import yaml

from pipeloop.cli.common import conf_options, project_option
from pipeloop.cli.conf import open_project
from pipeloop.cli.errors import reports_errors, verbose_option
from pipeloop.cli.logs import command_logging
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.pipeline import Pipeline
from pipeloop.engine.registry import select_pipelines

__all__ = ["catalog_group", "datasets_by_type"]

IN_MEMORY = "not in the catalog (MemoryDataset)"
PARAMETERS = "parameters"


def datasets_by_type(pipeline: Pipeline, catalog: DataCatalog) -> dict[str, list[str]]:
    """The pipeline's dataset names grouped by dataset type; parameters, and names the
    catalog does not hold, in their own groups."""
    groups: dict[str, list[str]] = {}
    for name in sorted(pipeline.datasets()):
        if name == "parameters" or name.startswith("params:"):
            group = PARAMETERS
        elif name in catalog:
            group = type(catalog[name]).__name__
        else:
            group = IN_MEMORY
        groups.setdefault(group, []).append(name)
    order = [*sorted(set(groups) - {PARAMETERS, IN_MEMORY}), PARAMETERS, IN_MEMORY]
    return {group: groups[group] for group in order if group in groups}


@click.group("catalog")
def catalog_group() -> None:
    """Inspect the project's data catalog."""


@catalog_group.command("list")
@click.option("--pipeline", "-p", "pipeline_names", multiple=True,
              help="Only this pipeline (may be repeated; default: every pipeline).")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]),
              default="yaml", show_default=True)
@conf_options
@project_option
@verbose_option
@reports_errors
def list_command(pipeline_names: tuple[str, ...], output_format: str, env: str | None,
                 conf_source: Path | None, project_path: Path | None) -> None:
    """List the datasets of each pipeline by type, and those that would be in memory."""
    project = open_project(project_path, env=env, conf_source=conf_source)
    with command_logging(project.package), contextlib.chdir(project.root):
        pipelines = project.pipelines
        catalog = project.catalog()
        names = list(pipeline_names) or sorted(pipelines)
        listing: dict[str, Any] = {
            name: datasets_by_type(select_pipelines(pipelines, [name]), catalog)
            for name in names
        }
    if output_format == "json":
        click.echo(json.dumps(listing, indent=2))
    else:
        click.echo(yaml.safe_dump(listing, sort_keys=False, default_flow_style=False).rstrip())
