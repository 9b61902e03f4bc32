"""``pipeloop status``: which nodes a ``pipeloop run --changed`` would run, and why."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import anyio
import click

from pipeloop.cli.common import conf_options, project_option
from pipeloop.cli.conf import open_project
from pipeloop.cli.errors import reports_errors, verbose_option
from pipeloop.cli.logs import command_logging
from pipeloop.cli.options import parse_pairs, split_list
from pipeloop.engine.project import RunFilters
from pipeloop.engine.staleness import Staleness

__all__ = ["status_command"]


def as_text(staleness: Staleness) -> str:
    """One line per node, ``fresh`` or ``stale: reason; reason``, then a count."""
    width = max((len(name) for name in staleness.statuses), default=0)
    lines = []
    for name, status in staleness.statuses.items():
        state = "fresh" if status.fresh else "stale: " + "; ".join(status.reasons)
        lines.append(f"{name.ljust(width)}  {state}")
    lines.append(f"{len(staleness.stale)} stale, {len(staleness.fresh)} fresh")
    return "\n".join(lines)


@click.command("status", short_help="Which nodes changed since they last ran.")
@click.option("--pipeline", "-p", "pipeline_name", default="__default__",
              help="The pipeline to check (default: __default__).")
@click.option("--nodes", "-n", "node_names", multiple=True,
              help="Check only these nodes. Comma-separated; may be repeated.")
@click.option("--tags", "-t", multiple=True,
              help="Check only nodes with any of these tags. Comma-separated; may be repeated.")
@click.option("--params", multiple=True, metavar="K=V,...",
              help="Parameters over the configured ones, as `pipeloop run --params`.")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]),
              default="text", show_default=True)
@conf_options
@project_option
@verbose_option
@reports_errors
def status_command(**options: Any) -> None:
    """List every node of the pipeline as fresh (`pipeloop run --changed` skips it) or stale,
    with the reasons: never run, code changed, parameter `x` changed, input `x` changed,
    output `x` missing or modified."""
    params = parse_pairs(options["params"], "--params", "lr=0.1,model.depth=3")
    project = open_project(options["project_path"], env=options["env"],
                           conf_source=options["conf_source"])
    filters = RunFilters(tags=tuple(split_list(options["tags"])),
                         node_names=tuple(split_list(options["node_names"])))
    with command_logging(project.package):
        staleness = anyio.run(partial(project.status, options["pipeline_name"],
                                      filters=filters, params=params or None))
    if options["output_format"] == "json":
        click.echo(json.dumps({"pipeline": options["pipeline_name"],
                               "nodes": staleness.to_json()}, indent=2))
    else:
        click.echo(as_text(staleness))
