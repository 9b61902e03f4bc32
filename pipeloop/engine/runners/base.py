"""``AbstractRunner``: what every runner does around the scheduler, and the policy seam.

A runner is a *policy* over the one scheduler in :mod:`pipeloop.engine.scheduler`. It decides
only how many nodes may execute at once (:attr:`max_concurrent_nodes`) and where a node's
function executes (:meth:`execute`, usually through :meth:`_execute_sync`). Everything else —
checking inputs, default datasets, hooks, logs, returning free outputs — happens here, the
same for every policy.

Custom runners subclass this and override the policy hooks, or ``_run`` whole (see
:class:`~pipeloop.engine.runners.dry.DryRunner`).
"""

from __future__ import annotations

import abc
import asyncio
import logging
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from weakref import WeakKeyDictionary

import anyio
from anyio.lowlevel import RunVar

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.memory import MemoryDataset
from pipeloop.engine.hooks import HookManager
from pipeloop.engine.node import Node
from pipeloop.engine.scheduler import Scheduler
from pipeloop.errors import MissingInputsError, RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["AbstractRunner", "limiter_for"]

logger = logging.getLogger("pipeloop.runner")

# Capacity limiters belong to an event loop, and a runner may serve several loops in turn:
# one weak map per loop, so a runner made per request leaves nothing behind.
_LIMITERS: RunVar[WeakKeyDictionary[AbstractRunner, anyio.CapacityLimiter]] = RunVar(
    "pipeloop_limiters"
)


def limiter_for(runner: AbstractRunner, capacity: int) -> anyio.CapacityLimiter:
    """The capacity limiter of ``runner`` in the running event loop (made on first use), so
    concurrent runs of one runner share its workers."""
    try:
        limiters = _LIMITERS.get()
    except LookupError:
        limiters = WeakKeyDictionary()
        _LIMITERS.set(limiters)
    limiter = limiters.get(runner)
    if limiter is None:
        limiter = limiters[runner] = anyio.CapacityLimiter(capacity)
    return limiter


class AbstractRunner(abc.ABC):
    """Runs pipelines; subclasses choose the scheduling policy.

    Args:
        is_async: load a node's inputs (and save its outputs) concurrently. ``False`` moves
            data one dataset at a time, for datasets that are not safe to use concurrently.
    """

    #: Appended to a NodeTimeoutError's message: what happens to the timed-out call.
    timeout_remark: str = ""

    def __init__(self, *, is_async: bool = True) -> None:
        self.is_async = is_async

    def _worker_count(self, max_workers: int | None, default: int) -> int:
        """``max_workers``, checked, or ``default`` when not given.

        Raises:
            RunnerError: ``max_workers`` is not a positive integer.
        """
        if max_workers is not None and max_workers < 1:
            raise RunnerError(
                f"{type(self).__name__}: max_workers must be >= 1, not {max_workers}."
            )
        return max_workers or default

    # -- the policy ---------------------------------------------------------------------

    @property
    def max_concurrent_nodes(self) -> int | None:
        """How many nodes may execute at once; ``None`` for no limit."""
        return None

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Execute ``node`` on loaded ``inputs``; return its outputs by dataset name.

        ``async def`` nodes are awaited on the event loop; plain ones go to
        :meth:`_execute_sync`, where the policy decides where they run.
        """
        if node.is_async:
            return await node.arun(inputs)
        return await self._execute_sync(node, inputs)

    @abc.abstractmethod
    async def _execute_sync(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Execute a plain (not ``async def``) node's function somewhere; return its outputs."""

    async def load_input(self, catalog: DataCatalog, name: str) -> Any:
        """Load dataset ``name`` for a node. A policy that keeps data elsewhere (a cluster)
        overrides this to hand out references instead of data."""
        return await catalog.load(name)

    async def save_output(self, catalog: DataCatalog, name: str, data: Any) -> None:
        """Save a node's output ``data`` as dataset ``name`` (see :meth:`load_input`)."""
        await catalog.save(name, data)

    def retries_in_execute(self, node: Node) -> bool:
        """Whether :meth:`execute` applies ``node.retries`` itself (the scheduler then won't)."""
        return False

    def check_pipeline(self, pipeline: Pipeline) -> None:  # noqa: B027 - optional hook
        """Refuse a pipeline this policy cannot run, before any node starts.

        Raises:
            RunnerError: the pipeline cannot run under this policy.
        """

    async def prepare(self, pipeline: Pipeline) -> None:  # noqa: B027 - optional hook
        """Get ready to run ``pipeline`` before any node starts (e.g. start workers), so
        that the cost never counts against a node's timeout."""

    def create_default_dataset(self, name: str) -> AbstractDataset:
        """The dataset for a name the pipeline uses but the catalog does not hold."""
        return MemoryDataset()

    # -- running ----------------------------------------------------------------------------

    async def run(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        *,
        hooks: Iterable[object] = (),
        run_id: str | None = None,
        keep_going: bool = False,
    ) -> dict[str, Any]:
        """Run ``pipeline`` with data from ``catalog``.

        Args:
            pipeline: the nodes to run.
            catalog: where the datasets live; it is not changed (datasets the catalog does
                not hold are created for this run only).
            hooks: objects with hook methods (see :mod:`pipeloop.engine.hooks`).
            run_id: identifies this run to hooks; a random one by default.
            keep_going: after a node fails, still run every node that does not depend on
                it, then raise ``NodesFailedError`` listing every failure.

        Returns:
            The free outputs (pipeline outputs the catalog did not hold) by name.

        Raises:
            MissingInputsError: free inputs are missing from the catalog; nothing ran.
            RunnerError: this policy cannot run the pipeline.
            Exception: a node's own exception, unchanged, with a note naming the node.
        """
        self._check_inputs(pipeline, catalog)
        self.check_pipeline(pipeline)
        manager = HookManager(hooks)
        run_catalog = self._run_catalog(pipeline, catalog)
        run_id = run_id or uuid.uuid4().hex
        run_params = {"run_id": run_id, "runner": type(self).__name__,
                      "is_async": self.is_async, "keep_going": keep_going}
        common = {"run_params": run_params, "pipeline": pipeline, "catalog": run_catalog}
        await manager.call("before_pipeline_run", **common)
        try:
            await self.prepare(pipeline)
            await self._run(pipeline, run_catalog, hooks=manager,
                            run_id=run_id, keep_going=keep_going)
        except Exception as exc:
            await manager.call("on_pipeline_error", error=exc, **common)
            raise
        result = await self._collect_outputs(pipeline, catalog, run_catalog)
        await manager.call("after_pipeline_run", run_result=result, **common)
        logger.info("Pipeline execution completed successfully.")
        return result

    async def _run(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        *,
        hooks: HookManager,
        run_id: str | None,
        keep_going: bool = False,
    ) -> None:
        """Run every node of ``pipeline``; ``catalog`` holds a dataset for each name."""
        await Scheduler(pipeline, catalog, self, hooks, run_id, keep_going=keep_going).run()

    def run_sync(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        *,
        hooks: Iterable[object] = (),
        run_id: str | None = None,
        keep_going: bool = False,
    ) -> dict[str, Any]:
        """:meth:`run` from synchronous code, in a new event loop.

        Raises:
            RunnerError: called while an event loop is running in this thread (there,
                ``await runner.run(...)`` instead).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RunnerError(
                "run_sync() cannot be called from a running event loop; "
                "use `await runner.run(pipeline, catalog)` instead."
            )

        async def main() -> dict[str, Any]:
            return await self.run(pipeline, catalog, hooks=hooks, run_id=run_id,
                                  keep_going=keep_going)

        return anyio.run(main)

    async def _collect_outputs(
        self, pipeline: Pipeline, catalog: DataCatalog, run_catalog: DataCatalog
    ) -> dict[str, Any]:
        """What ``run`` returns: the free outputs that the user's catalog did not hold."""
        free_outputs = sorted(name for name in pipeline.outputs() if name not in catalog)
        return {name: await run_catalog.load(name) for name in free_outputs}

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _check_inputs(pipeline: Pipeline, catalog: DataCatalog) -> None:
        missing = sorted(name for name in pipeline.inputs() if name not in catalog)
        if missing:
            raise MissingInputsError(
                f"Pipeline input(s) {missing} not found in the DataCatalog; add them to the "
                "catalog (or as parameters) before running."
            )

    def _run_catalog(self, pipeline: Pipeline, catalog: DataCatalog) -> DataCatalog:
        run_catalog = catalog.shallow_copy()
        for name in sorted(pipeline.datasets()):
            if name not in run_catalog:
                run_catalog.add(name, self.create_default_dataset(name))
        return run_catalog

    def __repr__(self) -> str:
        return f"{type(self).__name__}(is_async={self.is_async})"
