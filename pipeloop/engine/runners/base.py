"""``AbstractRunner``: what every runner does around the scheduler, and the policy seam.

A runner is a *policy* over the one scheduler in :mod:`pipeloop.engine.scheduler`. What a
runner author may override, and nothing else:

============================  ===========================================================
``execute(node, inputs)``     where a plain node's function executes (the one method of a
                              local policy); the default runs it inline
``max_concurrent_nodes``      how many nodes execute at once (default: no limit)
``open_run(pipeline, catalog)``  per-run resources: an async context manager yielding the
                              run's :class:`~pipeloop.engine.policy.RunContext`
``create_default_dataset``    the dataset for names the catalog does not hold
``_get_executor(max_workers)``  Kedro 1.x's shape: a ``concurrent.futures.Executor`` in
                              which plain nodes execute (``None``: inline)
``_run(pipeline, catalog)``   Kedro's shape: run the pipeline yourself, no scheduler
============================  ===========================================================

Checking inputs, default datasets, hooks, logs, the run report and returning free outputs
happen here, the same for every policy.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import Executor
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING, Any, final
from weakref import WeakKeyDictionary

import anyio
from anyio.lowlevel import RunVar

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.memory import MemoryDataset
from pipeloop.engine.hooks import HookManager
from pipeloop.engine.inline import NodeInterrupted, call_inline, wait_for_cancellation
from pipeloop.engine.node import Node
from pipeloop.engine.only_missing import only_missing_outputs as select_missing_outputs
from pipeloop.engine.policy import RunContext
from pipeloop.engine.report import RunReport, RunStatus
from pipeloop.engine.scheduler import Scheduler
from pipeloop.engine.transcoding import strip_transcoding
from pipeloop.errors import MissingInputsError, RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["AbstractRunner", "execute_in", "limiter_for"]

logger = logging.getLogger("pipeloop.runner")

# Capacity limiters belong to an event loop, and a runner may serve several loops in turn:
# one weak map per loop, so a runner made per request leaves nothing behind.
_LIMITERS: RunVar[WeakKeyDictionary[AbstractRunner, anyio.CapacityLimiter]] = RunVar(
    "pipeloop_limiters"
)

# The arguments a Kedro-shaped ``_run`` may declare, besides the pipeline and the catalog.
_RUN_ARGUMENTS = ("hook_manager", "hooks", "run_id", "session_id", "keep_going", "report")


#: Set while a subclass's ``_run`` runs; ``AbstractRunner._run`` records a request in it.
_SCHEDULE_REQUESTS: contextvars.ContextVar[list[bool] | None] = contextvars.ContextVar(
    "pipeloop_schedule_requests", default=None)


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


async def execute_in(executor: Executor, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
    """Run plain ``node`` in ``executor`` with the caller's context variables; awaiting it is
    cancellable, though a call already running finishes on its own."""
    call = contextvars.copy_context().run
    return await asyncio.wrap_future(executor.submit(call, node.run, inputs))


class _ExecutorRun(RunContext):
    """A run of a Kedro 1.x runner whose ``_get_executor`` returned an executor: plain
    nodes execute in it."""

    def __init__(self, policy: AbstractRunner, executor: Executor) -> None:
        super().__init__(policy)
        self._executor = executor

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        if node.is_async:
            return await node.arun(inputs)
        return await execute_in(self._executor, node, inputs)


class AbstractRunner:
    """Runs pipelines; subclasses choose the scheduling policy (see the module docs for
    what to override).

    Args:
        is_async: load a node's inputs (and save its outputs) concurrently. ``False`` moves
            data one dataset at a time, for datasets that are not safe to use concurrently.
    """

    #: Appended to a NodeTimeoutError's message: what happens to the timed-out call.
    timeout_remark: str = ""
    #: Log Kedro's "Asynchronous mode is enabled" line when ``is_async`` (as Kedro's
    #: SequentialRunner and ParallelRunner do).
    announces_async_io: bool = False

    def __init__(
        self,
        is_async: bool = True,
        *,
        extra_dataset_patterns: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        # Kedro 0.19's runners took extra_dataset_patterns; pipeloop's default datasets
        # come from create_default_dataset, so the option is accepted and has no effect.
        del extra_dataset_patterns
        self.is_async = is_async

    @property
    def _is_async(self) -> bool:
        """Kedro's name for :attr:`is_async`."""
        return self.is_async

    @property
    def _logger(self) -> logging.Logger:
        """The logger of the runner's module, as Kedro's runners have."""
        return logging.getLogger(type(self).__module__)

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
        """Execute the plain (not ``async def``) ``node`` on its loaded ``inputs``; return
        its outputs by dataset name. The default runs it inline, on the event loop.

        A policy overrides this to run the function elsewhere (a thread, a process, a
        cluster); ``node.run(inputs)`` makes the call and shapes the result.

        Inline, ``pipeloop run``'s first Ctrl-C interrupts the function where it stands
        (:mod:`pipeloop.engine.inline`), and the run is cancelled.
        """
        try:
            return call_inline(node, inputs)
        except NodeInterrupted as interrupted:
            await wait_for_cancellation(interrupted)

    def open_run(
        self, pipeline: Pipeline, catalog: DataCatalog
    ) -> AbstractAsyncContextManager[RunContext]:
        """Open the per-run resources of this policy; the run ends by closing them.

        Override to refuse a pipeline (raise ``RunnerError``), start workers, connect to a
        cluster, or give the scheduler run-catalog datasets that keep data elsewhere —
        state that belongs to one run, never to the runner, which concurrent runs share.

        Args:
            pipeline: the pipeline about to run.
            catalog: the run's catalog (a dataset for every name the pipeline uses).
        """
        return self._default_run(pipeline)

    @asynccontextmanager
    async def _default_run(self, pipeline: Pipeline) -> AsyncIterator[RunContext]:
        executor = self._kedro_executor(pipeline)
        if executor is None:
            yield RunContext(self)
            return
        with executor:
            yield _ExecutorRun(self, executor)

    def _kedro_executor(self, pipeline: Pipeline) -> Executor | None:
        """The executor of a runner that implements Kedro 1.x's ``_get_executor``."""
        get_executor = getattr(self, "_get_executor", None)
        if get_executor is None:
            return None
        workers = getattr(self, "_get_required_workers_count", None)
        count = workers(pipeline) if callable(workers) else 1
        executor = get_executor(count)
        if executor is not None and not isinstance(executor, Executor):
            raise RunnerError(f"{type(self).__name__}._get_executor() must return a "
                              f"concurrent.futures.Executor or None, not "
                              f"{type(executor).__name__}.")
        return executor

    def create_default_dataset(self, name: str) -> AbstractDataset:
        """The dataset for a name the pipeline uses but the catalog does not hold. Kedro's
        spelling ``create_default_data_set`` is honoured when a subclass defines it."""
        older = getattr(self, "create_default_data_set", None)
        if callable(older):
            dataset = older(name)
            if not isinstance(dataset, AbstractDataset):
                raise RunnerError(f"{type(self).__name__}.create_default_data_set({name!r}) "
                                  f"returned {type(dataset).__name__}, not a dataset.")
            return dataset
        return MemoryDataset()

    # -- running ----------------------------------------------------------------------------

    @final
    async def run(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        *,
        hooks: Iterable[object] = (),
        run_id: str | None = None,
        keep_going: bool = False,
        report: RunReport | None = None,
        only_missing_outputs: bool = False,
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
            report: a fresh :class:`RunReport` to fill with the run's facts; it stays valid
                after the run raises or is cancelled.
            only_missing_outputs: run only the nodes needed for persisted outputs that do
                not exist yet (Kedro 1.x's rules).

        Returns:
            The free outputs (pipeline outputs the catalog did not hold) that exist after
            the run, by name.

        Raises:
            MissingInputsError: free inputs are missing from the catalog; nothing ran.
            RunnerError: this policy cannot run the pipeline.
            Exception: a node's own exception, unchanged, with a note naming the node.
        """
        report = report if report is not None else RunReport()
        run_id = run_id or uuid.uuid4().hex
        try:
            if only_missing_outputs:
                pipeline = await select_missing_outputs(pipeline, catalog)
            self._check_inputs(pipeline, catalog)
            run_catalog = self._run_catalog(pipeline, catalog)
            report.start(run_id, pipeline, run_catalog)
            if self.is_async and self.announces_async_io:
                self._logger.info("Asynchronous mode is enabled for loading and saving data.")
            async with AsyncExitStack() as run_resources:
                context = None
                if not self._overrides_run():
                    # Refusing the pipeline or failing to start comes before any hook.
                    context = await run_resources.enter_async_context(
                        self.open_run(pipeline, run_catalog))
                result = await self._run_with_hooks(
                    pipeline, catalog, run_catalog, context, run_resources,
                    HookManager(hooks), run_id, keep_going, report)
        except anyio.get_cancelled_exc_class():
            report.end(RunStatus.CANCELLED)
            raise
        except (Exception, KeyboardInterrupt, SystemExit) as exc:
            cancelled = isinstance(exc, KeyboardInterrupt)
            report.end(RunStatus.CANCELLED if cancelled else RunStatus.FAILED, exc)
            raise
        report.outputs = result
        report.end(RunStatus.COMPLETED)
        return result

    async def _run_with_hooks(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        run_catalog: DataCatalog,
        context: RunContext | None,
        run_resources: AsyncExitStack,
        manager: HookManager,
        run_id: str,
        keep_going: bool,
        report: RunReport,
    ) -> dict[str, Any]:
        run_params = {"run_id": run_id, "runner": type(self).__name__,
                      "is_async": self.is_async, "keep_going": keep_going}
        common = {"run_params": run_params, "pipeline": pipeline, "catalog": run_catalog}
        await manager.call("before_pipeline_run", **common)
        try:
            if context is None:
                await self._call_custom_run(pipeline, run_catalog, manager, run_id,
                                            keep_going, report)
            else:
                await self._schedule(pipeline, run_catalog, context, manager, run_id,
                                     keep_going, report)
            await run_resources.aclose()  # e.g. gathers outputs kept on a cluster
            result = await self._collect_outputs(pipeline, catalog, run_catalog)
        except Exception as exc:
            with anyio.CancelScope(shield=True):
                await manager.call("on_pipeline_error", error=exc, **common)
            raise
        await manager.call("after_pipeline_run", run_result=result, **common)
        if pipeline.nodes:
            logger.info("Pipeline execution completed successfully.")
        else:  # everything was filtered out, fresh or already there: say so, not "success"
            logger.info("No node ran: there was nothing to run.")
        return result

    async def _schedule(
        self,
        pipeline: Pipeline,
        run_catalog: DataCatalog,
        context: RunContext,
        manager: HookManager,
        run_id: str,
        keep_going: bool,
        report: RunReport,
    ) -> None:
        scheduler_catalog = run_catalog
        if context.datasets:
            scheduler_catalog = run_catalog.shallow_copy()
            for name, dataset in context.datasets.items():
                scheduler_catalog.add(name, dataset, replace=True)
        await Scheduler(pipeline, scheduler_catalog, context, manager, run_id,
                        report=report, concurrent_io=self.is_async,
                        keep_going=keep_going).run()

    def _overrides_run(self) -> bool:
        return type(self)._run is not AbstractRunner._run

    async def _call_custom_run(
        self,
        pipeline: Pipeline,
        run_catalog: DataCatalog,
        manager: HookManager,
        run_id: str,
        keep_going: bool,
        report: RunReport,
    ) -> None:
        """Call a Kedro-shaped ``_run`` with the parameters it declares; await it when it is
        ``async def``."""
        available = {"hook_manager": manager, "hooks": manager, "run_id": run_id,
                     "session_id": run_id, "keep_going": keep_going, "report": report}
        parameters = inspect.signature(self._run).parameters
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        arguments = {name: available[name] for name in _RUN_ARGUMENTS
                     if takes_all or name in parameters}
        requests: list[bool] = []
        token = _SCHEDULE_REQUESTS.set(requests)
        try:
            result = self._run(pipeline, run_catalog, **arguments)
            if inspect.isawaitable(result):
                await result
        finally:
            _SCHEDULE_REQUESTS.reset(token)
        if requests:  # the override called super()._run(): schedule as usual
            async with self.open_run(pipeline, run_catalog) as context:
                await self._schedule(pipeline, run_catalog, context, manager, run_id,
                                     keep_going, report)

    def _run(self, pipeline: Pipeline, catalog: DataCatalog, **arguments: Any) -> Any:
        """Run every node of ``pipeline`` yourself, instead of the scheduler (Kedro's custom
        runner shape). ``catalog`` holds a dataset for every name the pipeline uses.

        Declare any of ``hook_manager``, ``run_id``, ``session_id``, ``keep_going``,
        ``report`` to receive them. May be ``def`` or ``async def``. Not called unless a
        subclass overrides it. An override that calls ``super()._run(...)`` (as Kedro 1.x's
        runners do) asks for the usual scheduling, which starts once the override returns.
        """
        requests = _SCHEDULE_REQUESTS.get()
        if requests is None:
            raise RunnerError(f"{type(self).__name__}._run() is called by run(), not directly.")
        requests.append(True)

    def run_sync(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        *,
        hooks: Iterable[object] = (),
        run_id: str | None = None,
        keep_going: bool = False,
        report: RunReport | None = None,
        only_missing_outputs: bool = False,
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
                                  keep_going=keep_going, report=report,
                                  only_missing_outputs=only_missing_outputs)

        return anyio.run(main)

    async def _collect_outputs(
        self, pipeline: Pipeline, catalog: DataCatalog, run_catalog: DataCatalog
    ) -> dict[str, Any]:
        """What ``run`` returns: the free outputs that the user's catalog did not hold and
        that exist after the run."""
        result = {}
        for name in sorted(pipeline.outputs()):
            if name in catalog:
                continue
            dataset = run_catalog[name]
            if await dataset.exists():
                result[name] = await dataset.load()
        return result

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
        shared: dict[str, AbstractDataset] = {}  # one default dataset for ds@a and ds@b
        for name in sorted(pipeline.datasets()):
            if name not in run_catalog:
                base = strip_transcoding(name)
                if base not in shared:
                    shared[base] = self.create_default_dataset(base)
                run_catalog.add(name, shared[base])
        return run_catalog

    def __repr__(self) -> str:
        return f"{type(self).__name__}(is_async={self.is_async})"
