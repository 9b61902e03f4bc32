"""``ParallelRunner``: plain functions in a pool of worker processes."""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_process

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.node import Node
from pipeloop.engine.policy import RunContext
from pipeloop.engine.runners._worker import FailedInWorker, ready, run_in_worker
from pipeloop.engine.runners.base import AbstractRunner, limiter_for
from pipeloop.errors import NodeError, RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

#: Seconds a worker process may take to start before the run gives up on it.
WORKER_START_TIMEOUT = 60.0

__all__ = ["ParallelRunner"]


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

    announces_async_io = True
    timeout_remark = " Its worker process was killed."

    def __init__(self, max_workers: int | None = None, *, is_async: bool = True) -> None:
        super().__init__(is_async=is_async)
        self.max_workers = self._worker_count(max_workers, default=os.cpu_count() or 1)

    @asynccontextmanager
    async def open_run(
        self, pipeline: Pipeline, catalog: DataCatalog
    ) -> AsyncIterator[RunContext]:
        """Refuse nodes that cannot be sent to a worker, then start the workers the run
        will use, before any node (so starting one never counts against a node's
        timeout)."""
        self._check_pipeline(pipeline)
        await self._start_workers(sum(not node.is_async for node in pipeline.nodes))
        yield RunContext(self)

    def _check_pipeline(self, pipeline: Pipeline) -> None:
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

    async def _start_workers(self, plain_nodes: int) -> None:
        """Start the workers the run will use, all at once and before any node.

        Shielded: a worker cancelled while it starts would be lost to the pool but still
        alive. And started before nodes run, so starting one never counts against a node's
        timeout. Workers already idle in this event loop are reused.

        Raises:
            RunnerError: a worker could not start (or took over ``WORKER_START_TIMEOUT``).
        """
        wanted = min(self.max_workers, plain_nodes)
        limiter = limiter_for(self, self.max_workers)
        start = partial(anyio.to_process.run_sync, ready, limiter=limiter)
        try:
            with anyio.CancelScope(shield=True), anyio.fail_after(WORKER_START_TIMEOUT):
                async with anyio.create_task_group() as group:
                    for _ in range(wanted):
                        group.start_soon(start)
        except* (anyio.BrokenWorkerProcess, TimeoutError) as errors:
            raise RunnerError(_worker_start_failed_message(errors.exceptions[0])) from None

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        try:
            outputs, records = await anyio.to_process.run_sync(
                run_in_worker, node, inputs, cancellable=True,
                limiter=limiter_for(self, self.max_workers),
            )
        except FailedInWorker as failed:
            _replay(failed.records)
            raise failed.error from None
        except anyio.BrokenWorkerProcess as exc:
            raise NodeError(_worker_died_message(node, exc)) from exc
        _replay(records)
        return outputs

    def __repr__(self) -> str:
        return f"ParallelRunner(max_workers={self.max_workers}, is_async={self.is_async})"


def _worker_start_failed_message(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return f"ParallelRunner: a worker process did not start within {WORKER_START_TIMEOUT:g} s."
    return ("ParallelRunner: a worker process could not start: importing the main module in "
            "the worker failed. If that module is a script that runs a pipeline, guard its "
            "entry point with `if __name__ == \"__main__\":`.")


def _worker_died_message(node: Node, exc: anyio.BrokenWorkerProcess) -> str:
    if "initialization" in str(exc):
        return f"A worker process for node '{node.name}' could not start. " + (
            _worker_start_failed_message(exc).split(": ", 1)[1])
    return (f"The worker process running node '{node.name}' died (crashed, was killed or ran "
            "out of memory); the pool replaces it for the next node.")


def _picklable(node: Node) -> bool:
    try:
        pickle.dumps(node.func)
    except Exception:
        return False
    return True
