"""What ``pipeloop run`` says when a run fails: the error, the node, and how to resume.

The resume command repeats the original command line with ``--from-nodes`` replaced by the
nodes the run must restart from (the nearest nodes whose inputs are persisted, so in-memory
data lost with the failed run is made again).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pipeloop.cli.errors import CliError, Interrupted, describe_exception, signal_name
from pipeloop.cli.lifecycle import RunRecorder
from pipeloop.engine.resume import resume_command
from pipeloop.errors import NodesFailedError

__all__ = ["resume_line", "resume_nodes_after", "run_failure", "run_interrupted"]

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
    """``pipeloop run --from-nodes "a,b" <the other original arguments>``."""
    rest = shlex.join(_without_from_nodes(argv))
    return f"pipeloop run {resume_command(resume_nodes)}" + (f" {rest}" if rest else "")


def resume_nodes_after(error: BaseException, recorder: RunRecorder) -> list[str]:
    """The nodes to resume from after a run raised ``error``; none when the failure was not
    a node's (the run never started, or failed after its last node)."""
    if isinstance(error, NodesFailedError):
        return list(error.resume_nodes)
    return recorder.resume_nodes() if recorder.failed_node(error) is not None else []


def run_failure(error: BaseException, recorder: RunRecorder, argv: Sequence[str]) -> CliError:
    """The error to report for a run that raised ``error``.

    A node's failure reads ``Node 'x' failed: ValueError: boom`` and, when some nodes did not
    run, a second line with the command that resumes the run.
    """
    if isinstance(error, NodesFailedError):
        failures = "; ".join(
            f"'{name}' ({describe_exception(inner)})"
            for name, inner in zip(error.failed_nodes, error.exceptions, strict=False)
        )
        message = f"{len(error.failed_nodes)} node(s) failed: {failures}"
    else:
        node = recorder.failed_node(error)
        message = describe_exception(error)
        if node is not None:
            message = f"Node '{node}' failed: {message}"
    resume_nodes = resume_nodes_after(error, recorder)
    hint = f"Resume with: {resume_line(argv, resume_nodes)}" if resume_nodes else None
    return CliError(message, hint=hint)


def run_interrupted(signum: int, recorder: RunRecorder, argv: Sequence[str]) -> Interrupted:
    """The error to report for a run a signal cancelled: what was left undone, and the
    command that finishes it."""
    pipeline = recorder.pipeline
    finished = len(recorder.completed)
    done = (f"{finished} of {len(pipeline.nodes)} node(s) completed" if pipeline is not None
            else "no node ran")
    resume_nodes = recorder.resume_nodes()
    hint = f"Resume with: {resume_line(argv, resume_nodes)}" if resume_nodes else None
    return Interrupted(signum, f"Interrupted by {signal_name(signum)}: the run was cancelled; "
                       f"{done}.", hint=hint)
