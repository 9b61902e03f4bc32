"""What ``pipeloop run`` says when a run fails or is interrupted, read from its report.

The resume command repeats the original command line with ``--from-nodes`` replaced by the
nodes the run must restart from (the nearest nodes whose inputs are persisted, so in-memory
data lost with the failed run is made again).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pipeloop.cli.errors import CliError, Interrupted, describe_exception, signal_name
from pipeloop.engine.report import RunReport
from pipeloop.errors import NodesFailedError

__all__ = ["resume_line", "run_failure", "run_interrupted"]

_FROM_NODES = "--from-nodes"


def _without_from_nodes(argv: Sequence[str]) -> list[str]:
    kept: list[str] = []
    skip_next = False
    for argument in argv:
        if skip_next:
            skip_next = False
        elif argument == _FROM_NODES:
            skip_next = True
        elif not argument.startswith(f"{_FROM_NODES}="):
            kept.append(argument)
    return kept


def resume_line(argv: Sequence[str], resume_nodes: Sequence[str]) -> str:
    """``pipeloop run --from-nodes 'a,b' <the other original arguments>``, quoted for a
    POSIX shell (names with spaces, quotes or ``$`` survive a copy-paste)."""
    return shlex.join(["pipeloop", "run", _FROM_NODES, ",".join(resume_nodes),
                       *_without_from_nodes(argv)])


def run_failure(error: BaseException | None, report: RunReport, argv: Sequence[str]
                ) -> CliError:
    """The error to report for a failed run.

    A node's failure reads ``Node 'x' failed: ValueError: boom`` and, when some nodes did not
    run, a second line with the command that resumes the run.
    """
    if isinstance(error, CliError):
        return error
    failed = report.failed_nodes
    if len(failed) > 1 or isinstance(error, NodesFailedError):
        failures = "; ".join(f"'{name}' ({describe_exception(report.errors[name])})"
                             for name in failed)
        message = f"{len(failed)} node(s) failed: {failures}"
    elif failed:
        message = f"Node '{failed[0]}' failed: {describe_exception(report.errors[failed[0]])}"
    else:
        message = describe_exception(error) if error is not None else "The run failed."
    resume_nodes = report.resume_nodes if failed else []
    hint = f"Resume with: {resume_line(argv, resume_nodes)}" if resume_nodes else None
    return CliError(message, hint=hint)


def run_interrupted(signum: int, report: RunReport, argv: Sequence[str]) -> Interrupted:
    """The error to report for a run a signal cancelled: what was left undone, and the
    command that finishes it."""
    total = len(report.node_states)
    done = (f"{len(report.completed_nodes)} of {total} node(s) completed" if total
            else "no node ran")
    resume_nodes = report.resume_nodes
    hint = f"Resume with: {resume_line(argv, resume_nodes)}" if resume_nodes else None
    return Interrupted(signum, f"Interrupted by {signal_name(signum)}: the run was cancelled; "
                       f"{done}.", hint=hint)
