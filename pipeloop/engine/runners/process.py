"""``ParallelRunner``: plain functions in a pool of worker processes."""

from __future__ import annotations

import functools
import logging
import os
import pickle
import sys
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any

import anyio

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.memory import MemoryDataset
from pipeloop.engine.node import Node
from pipeloop.engine.policy import RunContext
from pipeloop.engine.runners import _wire
from pipeloop.engine.runners._locality import InWorkerDataset, place, remove_temporaries
from pipeloop.engine.runners._pool import (
    NotSent,
    Worker,
    WorkerDied,
    WorkerPool,
    pool_for_this_loop,
)
from pipeloop.engine.runners._remote import rebuild
from pipeloop.engine.runners.base import AbstractRunner, limiter_for
from pipeloop.errors import NodeError, RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["ParallelRunner"]

#: Seconds an idle worker (and then the pool's zygote) is kept, by default.
IDLE_TIMEOUT = 10.0


class ParallelRunner(AbstractRunner):
    """Runs every ready node at once; plain functions in worker processes, for CPU-bound
    work that threads cannot parallelise. ``async def`` nodes are awaited on the loop.

    Workers are forked from a *zygote* process that has the pipeline's node modules
    imported, so they start in milliseconds; the zygote is forked from this process while
    it has a single thread, or else is a fresh interpreter that imports the main module and
    the node modules once. Every ``ParallelRunner`` of an event loop shares that loop's
    pool, which holds at most the largest ``max_workers`` among them; a worker idle for
    ``idle_timeout`` seconds is ended. ``close()`` (or ``async with ParallelRunner() as
    runner``) and the end of the event loop end every process of the pool.

    A worker's stdin is ``/dev/null`` and its stdout/stderr are this process's, so programs
    a node runs behave as they would here; what the node logs and prints reaches this
    process's loggers and ``sys.stdout``/``sys.stderr`` as it happens. Each worker leads a
    process group that its node's children join: a node cancelled, timed out or failed with
    its run (Ctrl-C included) is killed with its children, and the whole pool dies with
    this process, even when it is killed.

    File datasets a worker can open (pipeloop's and kedro-datasets' file datasets, or a
    class with ``worker_io = True``; unversioned, read and written only by plain nodes)
    are loaded and saved by the worker that runs the node, so their data never crosses to
    this process; hooks see placeholders for that data.
    Other inputs and outputs travel by pickle (protocol 5, large buffers out of band),
    pickled and unpickled in worker threads, never on the event loop. An exception raised in a
    worker comes back as itself; one that cannot be pickled comes back as a
    :class:`~pipeloop.errors.RemoteError` that still is an instance of its class.

    Args:
        max_workers: worker processes (default: the number of CPUs).
        is_async: load a node's inputs (and save its outputs) concurrently.
        idle_timeout: seconds an idle worker is kept before it is ended.

    Raises:
        RunnerError: ``max_workers`` is not a positive integer, or ``idle_timeout`` is
            negative.
    """

    announces_async_io = True
    timeout_remark = " Its worker process was killed."

    def __init__(
        self,
        max_workers: int | None = None,
        *,
        is_async: bool = True,
        idle_timeout: float = IDLE_TIMEOUT,
    ) -> None:
        super().__init__(is_async=is_async)
        self.max_workers = self._worker_count(max_workers, default=os.cpu_count() or 1)
        if idle_timeout < 0:
            raise RunnerError(f"ParallelRunner: idle_timeout must be >= 0, not {idle_timeout}.")
        self.idle_timeout = float(idle_timeout)
        self._pools: weakref.WeakSet[WorkerPool] = weakref.WeakSet()

    # -- owning the pool ------------------------------------------------------------------

    def close(self) -> None:
        """End the worker processes this runner holds: its pools end once no other runner
        uses them. The runner stays usable; a later run starts workers again."""
        for pool in list(self._pools):
            pool.detach(self)
        self._pools.clear()

    async def aclose(self) -> None:
        """:meth:`close`, for ``async`` code."""
        self.close()

    async def __aenter__(self) -> ParallelRunner:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None,
                        exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def __enter__(self) -> ParallelRunner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None,
                 exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _pool(self) -> WorkerPool:
        pool = pool_for_this_loop()
        if pool not in self._pools:
            pool.attach(self)
            self._pools.add(pool)
        return pool

    # -- the policy -----------------------------------------------------------------------

    @asynccontextmanager
    async def open_run(
        self, pipeline: Pipeline, catalog: DataCatalog
    ) -> AsyncIterator[RunContext]:
        """Refuse nodes that cannot be sent to a worker, then start the workers the run
        will use, before any node (so starting one never counts against a node's timeout).
        A deadline or cancellation meanwhile kills what was being started."""
        self._check_pipeline(pipeline)
        plain = [node for node in pipeline.nodes if not node.is_async]
        if plain:
            await self._pool().warm(min(self.max_workers, len(plain)), _modules(plain))
        yield _ProcessRun(self, place(pipeline, catalog))

    def create_default_dataset(self, name: str) -> AbstractDataset:
        # What comes back from a worker is already a private copy, and what goes to one is
        # copied by pickling: no need to copy it again.
        return MemoryDataset(copy_mode="assign")

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

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        return await self._execute(node, inputs, {"log_level": _lowest_log_level()})

    async def _execute(
        self, node: Node, inputs: dict[str, Any], options: dict[str, Any]
    ) -> dict[str, Any]:
        """Run ``node`` in a worker of the pool; kill the worker if the call is cancelled.

        Raises:
            NodeError: the worker died while running the node.
            Exception: the node's own exception (or a RemoteError standing for it).
        """
        pool = self._pool()
        async with limiter_for(self, self.max_workers):
            worker = await pool.acquire(_modules([node]))
            try:
                kind, payload = await anyio.to_thread.run_sync(
                    worker.exchange, functools.partial(_wire.dumps, "run",
                                                       (node, inputs, options)),
                    _relay, abandon_on_cancel=True, limiter=pool.io_limiter)
            except BaseException as exc:
                if not isinstance(exc, NotSent):
                    worker.kill()
                pool.release(worker)
                if worker.dead:
                    await pool.wait_ended(worker)
                    remove_temporaries(list(options.get("save", {}).values()), worker.pid)
                if isinstance(exc, WorkerDied):
                    raise NodeError(_worker_died_message(node, worker)) from None
                if isinstance(exc, NotSent):
                    raise exc.error from None
                raise
            pool.release(worker)
        if kind == "error":
            raise rebuild(payload)
        outputs: dict[str, Any] = payload
        return outputs

    def __repr__(self) -> str:
        return f"ParallelRunner(max_workers={self.max_workers}, is_async={self.is_async})"


class _ProcessRun(RunContext):
    """One run of a ``ParallelRunner``: what its workers need to know for every node."""

    def __init__(self, runner: ParallelRunner, placed: dict[str, InWorkerDataset]) -> None:
        super().__init__(runner, datasets=placed)
        self.runner = runner
        self.placed = placed
        self.log_level = _lowest_log_level()

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        if node.is_async:
            return await node.arun(inputs)
        save = {name: self.placed[name].dataset for name in node.outputs if name in self.placed}
        return await self.runner._execute(node, inputs, {
            "log_level": self.log_level, "save": save,
            "concurrent_io": self.runner.is_async})


def _relay(kind: str, payload: Any) -> None:
    """In the thread waiting on a worker: log or print what the worker sent, here."""
    if kind == "log":
        record: logging.LogRecord = payload
        target = logging.getLogger(record.name)
        if target.isEnabledFor(record.levelno):
            target.handle(record)
        return
    name, text = payload
    stream = getattr(sys, name, None)
    if stream is not None:
        stream.write(text)
        stream.flush()


def _lowest_log_level() -> int:
    """The lowest level any logger here would handle: the workers need send no less."""
    manager = logging.Logger.manager
    levels = [logging.getLogger().getEffectiveLevel()]
    levels += [item.level for item in list(manager.loggerDict.values())
               if isinstance(item, logging.Logger) and item.level]
    return min(levels)


#: What every worker needs to unpickle a task and load or save data: the zygote imports it
#: once, so workers share those pages and do not import it at their first node.
_WORKER_MODULES = ("pipeloop.engine.node", "pipeloop.engine.runners._local_io")


def _modules(nodes: list[Node]) -> list[str]:
    """The modules that define the nodes' functions (and what every worker needs): the
    zygote imports them once."""
    found = set(_WORKER_MODULES)
    for node in nodes:
        func: Any = node.func
        while isinstance(func, functools.partial):
            func = func.func
        module = getattr(func, "__module__", None)
        if module is None and hasattr(func, "__self__"):
            module = type(func.__self__).__module__
        if module and module not in ("__main__", "builtins", "__mp_main__"):
            found.add(module)
    return sorted(found)


def _worker_died_message(node: Node, worker: Worker) -> str:
    return (f"The worker process running node '{node.name}' died (crashed, was killed or ran "
            "out of memory); the pool replaces it for the next node.")


def _picklable(node: Node) -> bool:
    try:
        pickle.dumps(node.func)
    except Exception:
        return False
    return True
