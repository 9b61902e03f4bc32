"""The ``pipeloop`` command: a click group of thin commands over the async API."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading

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
    try:
        cli(prog_name="pipeloop")
    except SystemExit as exit_:
        _exit_past_abandoned_threads(exit_.code)
        raise


def _exit_past_abandoned_threads(code: object) -> None:
    """After a signal stopped a run, exit even if threads still run abandoned nodes.

    Python waits for non-daemon threads (a ``concurrent.futures`` pool's among them) before
    a process exits, so a node that never returns would keep ``pipeloop run`` alive after it
    reported the interruption. Once the grace period is over, exit with the signal's status
    at once, having flushed what was written.
    """
    if not isinstance(code, int) or code <= 128:
        return
    main_thread = threading.main_thread()
    if not any(thread is not main_thread and not thread.daemon and thread.is_alive()
               for thread in threading.enumerate()):
        return
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    main()
