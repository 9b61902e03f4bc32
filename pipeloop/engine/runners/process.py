"""``ParallelRunner``: plain functions in a pool of worker processes."""

from __future__ import annotations

import logging
import os
import pickle
import signal
import threading
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_process

from pipeloop.engine.node import Node
from pipeloop.engine.runners.base import AbstractRunner, limiter_for
from pipeloop.errors import NodeError, RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["ParallelRunner"]


class _LogCollector(logging.Handler):
    """Keeps a worker's log records so the parent can log them as its own."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None  # arguments may not pickle
        record.exc_text = self.format(record) if record.exc_info else None
        record.exc_info = None
        self.records.append(record)


class _FailedInWorker(Exception):
    """Carries a node's exception and the log records made before it, back to the parent."""

    def __init__(self, error: BaseException, records: list[logging.LogRecord]) -> None:
        super().__init__(error, records)
        self.error = error
        self.records = records


def _leave_interrupts_to_the_parent() -> None:
    """Ignore SIGINT in this worker. Ctrl-C reaches every process of the terminal's
    foreground group; in a worker it would raise ``KeyboardInterrupt`` inside the node and
    send it back to the parent as the node's result. The parent owns the run: it cancels the
    run on Ctrl-C, and a cancelled call kills its worker."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_in_worker(node: Node, inputs: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Executed in the worker process: run the node, keeping what it logs (a worker's own
    stderr goes nowhere)."""
    _leave_interrupts_to_the_parent()
    root, collector = logging.getLogger(), _LogCollector()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        return node.run(inputs), collector.records
    except Exception as exc:
        raise _FailedInWorker(exc, collector.records) from None
    finally:
        root.removeHandler(collector)
        root.setLevel(level)


class _DropReapedWorkerWarning(logging.Filter):
    """Drops asyncio's "Unknown child process pid ..." warning for pool workers.

    On Python < 3.12 asyncio waits for each child in a thread, while ``subprocess`` reaps
    abandoned children on its own whenever a new process starts; when anyio kills its idle
    workers as the loop closes, the two race and asyncio warns about a child that is
    already gone. Nothing is lost, so the warning is noise.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str)
                    and record.msg.startswith("Unknown child process pid"))


logging.getLogger("asyncio").addFilter(_DropReapedWorkerWarning())


def _replay(records: list[logging.LogRecord]) -> None:
    for record in records:
        logger = logging.getLogger(record.name)
        if logger.isEnabledFor(record.levelno):
            logger.handle(record)


class ParallelRunner(AbstractRunner):
    """Runs every ready node at once; plain functions in worker processes, for CPU-bound
    work that threads cannot parallelise.

    Workers are fresh interpreters (never forked from this possibly threaded process) that
    inherit ``sys.path`` and re-import the main module, and are reused between nodes. Inputs
    and outputs of plain nodes travel by pickle. ``async def`` nodes are awaited on the loop.
    When a run fails, times out or is cancelled, workers still running a node are killed.

    Args:
        max_workers: worker processes (default: the number of CPUs).
        is_async: load a node's inputs (and save its outputs) concurrently.

    Raises:
        RunnerError: ``max_workers`` is not a positive integer.
    """

    timeout_remark = " Its worker process was killed."

    def __init__(self, max_workers: int | None = None, *, is_async: bool = True) -> None:
        super().__init__(is_async=is_async)
        if max_workers is not None and max_workers < 1:
            raise RunnerError(f"ParallelRunner: max_workers must be >= 1, not {max_workers}.")
        self.max_workers = max_workers or os.cpu_count() or 1

    def check_pipeline(self, pipeline: Pipeline) -> None:
        """Refuse nodes whose function cannot be sent to a worker process.

        Raises:
            RunnerError: names every plain node whose function cannot be pickled (lambdas,
                closures, functions defined inside other functions).
        """
        unpicklable = [node.name for node in pipeline.nodes
                       if not node.is_async and not _picklable(node)]
        if unpicklable:
            raise RunnerError(
                "ParallelRunner cannot send these nodes to worker processes because their "
                f"functions cannot be pickled: {', '.join(unpicklable)}. Define them at "
                "module level (not lambdas or closures), or use ThreadRunner."
            )

    async def _execute_sync(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            outputs, records = await anyio.to_process.run_sync(
                _run_in_worker, node, inputs, cancellable=True,
                limiter=limiter_for(self, self.max_workers),
            )
        except _FailedInWorker as failed:
            _replay(failed.records)
            raise failed.error from None
        except anyio.BrokenWorkerProcess as exc:
            raise NodeError(
                f"The worker process running node '{node.name}' died (crashed, was killed, "
                "or could not start); the pool replaces it for the next node."
            ) from exc
        _replay(records)
        return outputs

    def __repr__(self) -> str:
        return f"ParallelRunner(max_workers={self.max_workers}, is_async={self.is_async})"


def _picklable(node: Node) -> bool:
    try:
        pickle.dumps(node.func)
    except Exception:
        return False
    return True
