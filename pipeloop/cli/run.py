"""``pipeloop run``: run a project's pipeline, with Kedro's options.

The command parses its options, loads the project, its pipelines and its catalog, then ends
in ``anyio.run`` of the same ``await runner.run(pipeline, catalog, hooks=...)`` an app calls.
Around that call it keeps the run record ``--resume`` reads (:mod:`pipeloop.cli.run_record`)
and turns the first Ctrl-C or SIGTERM into a clean cancellation
(:mod:`pipeloop.cli.interrupts`).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Awaitable, Callable
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import click

from pipeloop.cli.common import conf_options, project_option
from pipeloop.cli.conf import open_project
from pipeloop.cli.errors import UsageProblem, reports_errors, verbose_option
from pipeloop.cli.failure import run_failure, run_interrupted
from pipeloop.cli.interrupts import SignalWatcher
from pipeloop.cli.logs import command_logging
from pipeloop.cli.masking import current_mask
from pipeloop.cli.options import parse_load_versions, parse_pairs, split_list
from pipeloop.cli.progress import ProgressDisplay, wants_progress
from pipeloop.cli.resume import command_line, recorded_options, resume_options
from pipeloop.cli.runners import BUILTIN_RUNNERS, check_choice, make_runner
from pipeloop.cli.trace import TraceRecorder
from pipeloop.engine.project import Project
from pipeloop.engine.report import RunReport, RunStatus
from pipeloop.engine.run_record import RunRecord, log_resume
from pipeloop.errors import ConfigError

__all__ = ["run_command"]

_ARGV = "pipeloop.argv"


class _RunCommand(click.Command):
    """Keeps the arguments as typed, to repeat them in the resume command."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[_ARGV] = list(args)
        return super().parse_args(ctx, args)


def _runner_arguments(options: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """Constructor arguments from the runner options that were given."""
    arguments: dict[str, tuple[str, Any]] = {}
    if options["max_workers"] is not None:
        arguments["max_workers"] = ("--max-workers", options["max_workers"])
    if options["is_async"] is not None:
        flag = "--async" if options["is_async"] else "--no-async"
        arguments["is_async"] = (flag, options["is_async"])
    if options["address"] is not None:
        arguments["address"] = ("--address", options["address"])
    example = "max_workers=4,is_async=false"
    for key, value in parse_pairs(options["runner_params"], "--runner-params", example).items():
        if key in arguments:
            raise UsageProblem(f"'{key}' is given twice: by {arguments[key][0]} and by "
                               "--runner-params.")
        arguments[key] = (f"--runner-params {key}", value)
    return arguments


_RUNNERS_HELP = (f"The runner: {', '.join(BUILTIN_RUNNERS)}, or the dotted path of a runner "
                 "class (my_project.runners:MyRunner). Default: SequentialRunner.")
_LIST = "Comma-separated; may be repeated."


@click.command("run", cls=_RunCommand, short_help="Run a pipeline of the project.")
@click.option("--pipeline", "-p", "pipeline_name", help="The pipeline to run "
              "(default: __default__).")
@click.option("--pipelines", "pipeline_names", multiple=True,
              help=f"Pipelines to run together, summed. {_LIST}")
@click.option("--runner", "-r", "runner_name", help=_RUNNERS_HELP)
@click.option("--parallel", is_flag=True, help="Shorthand for --runner ParallelRunner.")
@click.option("--async/--no-async", "is_async", default=None,
              help="Load a node's inputs and save its outputs concurrently (the default), "
              "or one at a time.")
@click.option("--max-workers", type=int, help="Worker threads or processes of the runner.")
@click.option("--runner-params", multiple=True, metavar="K=V,...",
              help="More arguments for the runner's constructor, typed like --params.")
@click.option("--address", help="The Dask scheduler to use with DaskRunner "
              "(tcp://host:8786); a local cluster when omitted.")
@click.option("--keep-going", is_flag=True,
              help="After a node fails, still run every node that does not depend on it.")
@click.option("--resume", is_flag=True,
              help="Finish the project's last run, which failed or was interrupted: run it "
              "again with its options, from the nodes it did not finish (as its 'Resume "
              "with' line says). Other options given with --resume replace the recorded "
              "ones; filters cannot be given.")
@click.option("--from-nodes", multiple=True, help=f"Run from these nodes on. {_LIST}")
@click.option("--to-nodes", multiple=True, help=f"Run up to these nodes. {_LIST}")
@click.option("--from-inputs", multiple=True,
              help=f"Run the nodes that read these datasets, and what follows. {_LIST}")
@click.option("--to-outputs", multiple=True,
              help=f"Run the nodes needed to produce these datasets. {_LIST}")
@click.option("--nodes", "-n", "node_names", multiple=True, help=f"Run only these nodes. {_LIST}")
@click.option("--tags", "-t", multiple=True, help=f"Run only nodes with any of these tags. "
              f"{_LIST}")
@click.option("--namespaces", multiple=True, help=f"Run only nodes in these namespaces. {_LIST}")
@click.option("--params", multiple=True, metavar="K=V,...",
              help="Override parameters: lr=0.1,model.depth=3 (ints, floats, true/false, "
              "null, [lists] and strings; quote a value to keep it a string).")
@conf_options
@click.option("--load-versions", multiple=True, metavar="DATASET:VERSION,...",
              help="Versions to load of versioned datasets.")
@click.option("--only-missing-outputs", is_flag=True,
              help="Skip nodes whose persisted outputs already exist.")
@click.option("--changed", "only_changed", is_flag=True,
              help="Run only the nodes whose code, parameters or inputs changed since they "
              "last ran, or whose outputs are missing or were edited (see `pipeloop "
              "status`); each skipped node is logged with why it is fresh.")
@click.option("--force-nodes", multiple=True,
              help=f"Run these nodes and everything downstream even when fresh (implies "
              f"--changed). {_LIST}")
@click.option("--trace", "trace_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Chrome trace of the run (open it in https://ui.perfetto.dev).")
@click.option("--progress/--no-progress", default=None,
              help="Show a live progress line (default: when stderr is a terminal).")
@project_option
@verbose_option
@click.pass_context
@reports_errors
def run_command(ctx: click.Context, **options: Any) -> None:
    """Run a pipeline of the project, as `kedro run` does.

    Filters combine: a node runs when every given filter keeps it. On failure the last
    line is the command that resumes the run; `pipeloop run --resume` runs it.

    Ctrl-C or SIGTERM stops the run cleanly (exit status 130 or 143); a second one stops the
    process at once.
    """
    argv: list[str] = ctx.meta.get(_ARGV, [])
    resumed: RunRecord | None = None
    if options["resume"]:
        resumed = Project.load(options["project_path"]).last_unfinished_run()
        options = resume_options(ctx, options, resumed)
        argv = command_line(ctx, options)
    params = parse_pairs(options["params"], "--params", "lr=0.1,model.depth=3")
    load_versions = parse_load_versions(options["load_versions"])
    runner_arguments = _runner_arguments(options)
    check_choice(options["runner_name"], options["parallel"])
    trace_path = options["trace_path"].resolve() if options["trace_path"] else None
    project = open_project(options["project_path"], env=options["env"],
                           conf_source=options["conf_source"])
    conf_source = project.conf_source if options["conf_source"] else None
    if load_versions:
        try:
            project.catalog(params=params, load_versions=load_versions)
        except ConfigError as exc:
            project.catalog(params=params)  # a configuration error is not a usage error
            raise UsageProblem(f"Invalid value for '--load-versions': {exc}") from exc
    with command_logging(project.package):
        project.configure_logging()
        if resumed is not None:
            log_resume(resumed)
        runner = make_runner(options["runner_name"], parallel=options["parallel"],
                             arguments=runner_arguments)
        names = ([options["pipeline_name"]] if options["pipeline_name"] else [])
        names += split_list(options["pipeline_names"])
        run = partial(
            project.run, names or "__default__", runner=runner,
            tags=split_list(options["tags"]), from_nodes=split_list(options["from_nodes"]),
            to_nodes=split_list(options["to_nodes"]),
            node_names=split_list(options["node_names"]),
            from_inputs=split_list(options["from_inputs"]),
            to_outputs=split_list(options["to_outputs"]),
            namespaces=split_list(options["namespaces"]), params=params,
            load_versions=load_versions, only_missing_outputs=options["only_missing_outputs"],
            only_changed=options["only_changed"],
            force_nodes=split_list(options["force_nodes"]),
            keep_going=options["keep_going"],
            record_options=recorded_options(options, conf_source), argv=argv)
        _execute(project, run, options, trace_path, argv,
                 grace_period=getattr(runner, "grace_period", 0.0))


# -- running ------------------------------------------------------------------------------


def _execute(project: Project, run: Callable[..., Awaitable[RunReport]],
             options: dict[str, Any], trace_path: Path | None, argv: list[str], *,
             grace_period: float) -> None:
    """Run with the CLI's hooks until done, failed or stopped by a signal; report a failure
    or an interruption as two lines, from the run's report."""
    report = RunReport()
    trace = TraceRecorder() if trace_path is not None else None
    # At the first signal, record every unfinished node (those still running included): a
    # second signal may end the process before the run does.
    watcher = SignalWatcher(on_signal=lambda _: project.record_interrupted(report),
                            report=report, grace_period=grace_period)
    signum: int | None = None
    with ExitStack() as stack:
        progress = None
        if wants_progress(options["progress"]):
            progress = stack.enter_context(
                ProgressDisplay(force_terminal=bool(options["progress"])))
        hooks = [hook for hook in (trace, progress) if hook is not None]
        main = partial(run, hooks=hooks, report=report)
        stack.enter_context(watcher)
        try:
            anyio.run(watcher.cancel_on_signal, main)
        except KeyboardInterrupt:
            signum = signal.SIGINT  # Ctrl-C before the watcher was listening
        except Exception as exc:
            if watcher.signum is None:
                if report.status is RunStatus.PENDING:
                    raise  # refused before the run started: the CLI's table gives the status
                raise run_failure(exc, report, argv) from exc
        finally:
            if trace is not None and trace_path is not None:
                _write_trace(trace, trace_path)
        if signum is None and not watcher.completed:
            signum = watcher.signum  # None unless a signal stopped the run
    if signum is not None:
        raise run_interrupted(signum, report, argv)
    if report.status is RunStatus.FAILED:
        raise run_failure(report.error, report, argv) from report.error


def _write_trace(trace: TraceRecorder, path: Path) -> None:
    """Write the ``--trace`` file; one that cannot be written is a warning, not a failed run
    (the run's outcome and its record stand)."""
    trace.close()
    try:
        trace.write(path, mask=current_mask())
    except OSError as exc:
        logging.getLogger("pipeloop").warning(
            "Could not write the trace to %s: %s", path, exc.strerror or exc)
