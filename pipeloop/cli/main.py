"""The ``pipeloop`` command: a click group of thin commands over the async API."""

from __future__ import annotations

import click

from pipeloop import __version__
from pipeloop.cli.catalog_cmd import catalog_group
from pipeloop.cli.new import new_command
from pipeloop.cli.pipeline_cmd import pipeline_group
from pipeloop.cli.run import run_command
from pipeloop.cli.status import status_command

__all__ = ["cli", "main"]


@click.group("pipeloop", context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="pipeloop")
def cli() -> None:
    """pipeloop: run Kedro-style pipelines on one asyncio scheduler.

    Start with `pipeloop new NAME`, then `pipeloop run` inside the project.
    """


cli.add_command(run_command)
cli.add_command(new_command)
cli.add_command(pipeline_group)
cli.add_command(catalog_group)
cli.add_command(status_command)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="pipeloop")


if __name__ == "__main__":
    main()
