"""``pipeloop pipeline list`` and ``pipeloop pipeline describe``: what a project registers."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import anyio
import click

from pipeloop.cli.common import project_option
from pipeloop.cli.describe import as_json, as_mermaid, as_text
from pipeloop.cli.errors import UsageProblem, reports_errors, verbose_option
from pipeloop.cli.logs import command_logging
from pipeloop.engine.pipeline import Pipeline
from pipeloop.engine.project import Project
from pipeloop.engine.registry import DEFAULT_PIPELINE, select_pipelines

__all__ = ["pipeline_group"]


def _project_pipelines(project_path: Path | None) -> dict[str, Pipeline]:
    project = Project.load(project_path)
    with command_logging(project.package):
        return project.pipelines


@click.group("pipeline")
def pipeline_group() -> None:
    """List and describe the project's pipelines."""


@pipeline_group.command("list")
@project_option
@verbose_option
@reports_errors
def list_command(project_path: Path | None) -> None:
    """List the registered pipelines, one name per line, with their node counts."""
    for name, pipeline in sorted(_project_pipelines(project_path).items()):
        click.echo(f"{name}\t{len(pipeline.nodes)} node(s)")


@pipeline_group.command("describe")
@click.argument("name", default=DEFAULT_PIPELINE)
@click.option("--format", "output_format", type=click.Choice(["text", "json", "mermaid"]),
              default="text", show_default=True,
              help="mermaid: a flowchart to paste in a ```mermaid block on GitHub.")
@click.option("--status", "with_status", is_flag=True,
              help="With --format mermaid: colour stale nodes amber and fresh ones green "
              "(as `pipeloop status` sees them).")
@project_option
@verbose_option
@reports_errors
def describe_command(name: str, output_format: str, with_status: bool,
                     project_path: Path | None) -> None:
    """Describe pipeline NAME (default: __default__): its nodes in execution order, its
    inputs and its outputs."""
    if with_status and output_format != "mermaid":
        raise UsageProblem("--status goes with --format mermaid; for text or JSON use "
                           "`pipeloop status`.")
    pipeline = select_pipelines(_project_pipelines(project_path), [name])
    stale = None
    if with_status:
        project = Project.load(project_path)
        with command_logging(project.package):
            stale = anyio.run(partial(project.status, name)).stale
    if output_format == "json":
        click.echo(json.dumps(as_json(name, pipeline), indent=2))
    elif output_format == "mermaid":
        click.echo(as_mermaid(pipeline, stale))
    else:
        click.echo(as_text(name, pipeline))
