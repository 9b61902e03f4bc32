"""``DaskRunner``: nodes execute on a Dask distributed cluster, and their data stays there.

One more policy of the one scheduler: the scheduler still decides when each node is ready and
walks the DAG; this policy submits each node's function to Dask and hands the scheduler
*references* to data instead of data:

- a node's output bound for a memory dataset (a default dataset, or a user's
  ``MemoryDataset``) stays on the worker that computed it; the scheduler holds its Dask
  ``Future`` and passes it into the ``submit`` of every node that reads it, so Dask runs
  those nodes next to their data. Only what ``run`` returns (and what the user's own
  ``MemoryDataset`` outputs must hold afterwards) is gathered to this process;
- other datasets (files and user classes) are loaded by the worker that runs the reading node
  and saved by a task placed next to the data, never shipped through this process. The
  dataset object is pickled to the worker, so its paths must be reachable from there.
  ``LambdaDataset`` (callbacks into this process) and datasets that cannot be pickled are
  loaded and saved here;
- futures are dropped as soon as the scheduler releases their dataset (no remaining node
  needs it); free inputs held in ``MemoryDataset`` are scattered once per run.

Per-run state (the client, the futures in flight, the datasets that hold futures) lives in
the run's context (``open_run``), so one runner may run several pipelines at once.
"""

from __future__ import annotations

import asyncio
import logging
import operator
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

import anyio

try:
    import cloudpickle  # type: ignore[import-untyped]
    from distributed import Client, Future, LocalCluster
except ImportError as exc:  # pragma: no cover - exercised without the extra
    raise ImportError(
        'DaskRunner needs Dask distributed; install it with: pip install "pipeloop[dask]"'
    ) from exc

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.lambda_ import LambdaDataset
from pipeloop.datasets.memory import MemoryDataset
from pipeloop.engine.node import Node
from pipeloop.engine.policy import RunContext
from pipeloop.engine.runners._stand_in import StandIn
from pipeloop.engine.runners._worker import LoadHere
from pipeloop.engine.runners.base import AbstractRunner
from pipeloop.engine.runners.dask_masking import mask_cluster_logs
from pipeloop.errors import DatasetError, NodesFailedError, RunnerError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["DaskRunner"]

logger = logging.getLogger("pipeloop.runner")

#: How long cleanup (cancelling futures, closing a client) may take before it is abandoned.
_CLEANUP_TIMEOUT = 10.0


# -- what runs on the workers ----------------------------------------------------------------


async def _load_all(pending: dict[str, LoadHere]) -> dict[str, Any]:
    """Load every dataset at once; raise the first error as it is (not in a group)."""
    loaded: dict[str, Any] = {}
    errors: list[Exception] = []

    async def load(name: str, dataset: AbstractDataset) -> None:
        try:
            loaded[name] = await dataset.load()
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        for name, marker in pending.items():
            group.start_soon(load, name, marker.dataset)
    if errors:
        raise errors[0]
    return loaded


def _run_node(node: Node, inputs: dict[str, Any]) -> Any:
    """Executed on a worker: load what is to be loaded there, run the node, and return its
    only output, or the dict of its outputs (``None`` for a node without outputs)."""
    to_load = {name: value for name, value in inputs.items()
               if isinstance(value, LoadHere)}
    if to_load:
        inputs = {**inputs, **anyio.run(_load_all, to_load)}
    # A plain function runs outside any event loop, as in a ThreadRunner thread.
    outputs = anyio.run(node.arun, inputs) if node.is_async else node.run(inputs)
    for name, data in outputs.items():
        if data is None:
            raise DatasetError(
                f"Saving 'None' to a dataset is not allowed: node '{node.name}' returned "
                f"None for '{name}'."
            )
    if len(node.outputs) == 1:
        return outputs[node.outputs[0]]
    return outputs or None


def _save(dataset: AbstractDataset, data: Any) -> None:
    """Executed on a worker, next to ``data``."""
    anyio.run(dataset.save, data)


# -- what the scheduler sees -----------------------------------------------------------------


class FutureDataset(AbstractDataset):
    """A memory dataset whose data stays on the cluster: holds the Dask future of it.

    ``load`` hands out the future (not the data); ``release`` drops it, which lets Dask
    free the data on its worker.
    """

    persistent = False
    instant = True

    def __init__(self, source: MemoryDataset) -> None:
        self.source = source
        self.future: Any = None

    async def _load(self) -> Any:
        if self.future is None:
            raise DatasetError("Data for MemoryDataset has not been saved yet.")
        return self.future

    async def _save(self, data: Any) -> None:
        self.future = data

    async def _exists(self) -> bool:
        return self.future is not None

    async def _release(self) -> None:
        future, self.future = self.future, None
        if isinstance(future, Future):
            future.release()

    def _describe(self) -> dict[str, Any]:
        return {"future": getattr(self.future, "key", None)}


class _OnWorkerDataset(StandIn):
    """Stands for a dataset that the Dask workers load and save themselves.

    ``load`` hands out a placeholder the worker running the reading node resolves; ``save``
    of data held on the cluster is a task placed next to that data.
    """

    def __init__(self, name: str, dataset: AbstractDataset, run: _DaskRun) -> None:
        super().__init__(dataset)
        self.name = name
        self.run = run

    async def _load(self) -> Any:
        return LoadHere(self.name, self.dataset)

    async def _save(self, data: Any) -> None:
        logger.debug("Saving data to `%s` (%s) on a Dask worker...",
                     self.name, type(self.dataset).__name__)
        run = self.run
        await run.settle([run.client.submit(
            _save, self.dataset, data, key=f"save-{self.name}-{uuid.uuid4().hex}", pure=False
        )])


class _GatheringDataset(StandIn):
    """A dataset this process must load and save itself (callbacks into it, or not
    picklable): data held on the cluster is gathered before it is saved."""

    async def _load(self) -> Any:
        return await self.dataset.load()

    async def _save(self, data: Any) -> None:
        await self.dataset.save(await data if isinstance(data, Future) else data)


class _DaskRun(RunContext):
    """One run of a ``DaskRunner``: its client, its futures in flight, the datasets that
    hold futures, and the run-catalog replacements that keep data on the cluster."""

    def __init__(self, runner: DaskRunner, client: Client) -> None:
        super().__init__(runner)
        self.runner = runner
        self.client = client
        self.pending: set[Future] = set()
        self.held: dict[str, FutureDataset] = {}

    # -- the seam -------------------------------------------------------------------------

    def retries_itself(self, node: Node) -> bool:
        """Whether Dask retries ``node`` (see the class documentation)."""
        return (bool(node.retries) and node.retry_delay == 0
                and any(issubclass(Exception, kind) for kind in node.retry_on))

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Submit ``node`` to Dask; wait until it finished; return its outputs as futures.

        Raises:
            Exception: the node's own exception, re-raised by Dask.
        """
        key = f"{node.name}-{uuid.uuid4().hex}"
        resources = self.runner._resources(node)
        task = self.client.submit(
            _run_node, node, inputs, key=key, pure=False,
            retries=node.retries if self.retries_itself(node) else None,
            resources=resources or None,
        )
        if len(node.outputs) <= 1:
            outputs = dict.fromkeys(node.outputs, task)
            await self.settle([task])
            return outputs
        outputs = {
            name: self.client.submit(operator.getitem, task, name, key=f"{key}-{name}",
                                     pure=False)
            for name in node.outputs
        }
        await self.settle([task, *outputs.values()])
        return outputs

    # -- data -----------------------------------------------------------------------------

    async def place_data(self, pipeline: Pipeline, catalog: DataCatalog) -> None:
        """Decide where each dataset of the run is loaded and saved: memory datasets become
        future holders (free inputs scattered), files and user classes are handled by the
        workers, the rest here."""
        to_scatter: dict[str, MemoryDataset] = {}
        free_inputs = pipeline.inputs()
        for name in sorted(pipeline.datasets()):
            dataset = catalog[name]
            if isinstance(dataset, MemoryDataset):
                holder = FutureDataset(dataset)
                self.datasets[name] = self.held[name] = holder
                if name in free_inputs and await dataset.exists():
                    to_scatter[name] = dataset
            elif isinstance(dataset, LambdaDataset):
                self.datasets[name] = _GatheringDataset(dataset)  # callbacks live here
            elif _picklable(dataset):
                self.datasets[name] = _OnWorkerDataset(name, dataset, self)
            else:
                logger.warning("Dataset '%s' (%s) cannot be pickled; DaskRunner loads and "
                               "saves it in this process.", name, type(dataset).__name__)
                self.datasets[name] = _GatheringDataset(dataset)
        if to_scatter:
            data = [await dataset.load() for dataset in to_scatter.values()]
            futures = await self.client.scatter(data, hash=False)
            for name, future in zip(to_scatter, futures, strict=True):
                await self.held[name].save(future)

    async def gather_outputs(self, pipeline: Pipeline, catalog: DataCatalog) -> None:
        """Fetch the pipeline's outputs held on the cluster into the run's memory datasets:
        the free outputs ``run`` returns, and the user's ``MemoryDataset`` outputs."""
        names = [name for name in sorted(pipeline.outputs())
                 if name in self.held and self.held[name].future is not None]
        if not names:
            return
        futures = [self.held[name].future for name in names]
        for name, data in zip(names, await self.client.gather(futures), strict=True):
            await catalog.save(name, data)

    # -- futures --------------------------------------------------------------------------

    async def settle(self, futures: list[Future]) -> None:
        """Wait until ``futures`` finish without fetching their data.

        Raises:
            Exception: a task's own exception, as Dask re-raises it.
            RunnerError: Dask cancelled a task (the cluster restarted, or another client
                cancelled it).
        """
        self.pending.update(futures)
        try:
            for future in futures:
                await future.exception()
                if future.status == "error":
                    await future  # re-raises the remote exception with its traceback
                elif future.status != "finished":
                    raise RunnerError(
                        f"Dask task '{future.key}' ended as '{future.status}' (the cluster "
                        "restarted or another client cancelled it)."
                    )
        except BaseException:
            await self.cancel(futures)
            raise
        finally:
            self.pending.difference_update(futures)

    async def cancel(self, futures: list[Future] | set[Future]) -> None:
        """Cancel the futures that have not finished, even inside a cancelled scope."""
        unfinished = [future for future in futures if not future.done()]
        if not unfinished:
            return
        with anyio.move_on_after(_CLEANUP_TIMEOUT, shield=True):
            await self.client.cancel(unfinished)

    async def close(self) -> None:
        """Cancel whatever is still in flight and drop every future of the run."""
        await self.cancel(set(self.pending))
        self.pending.clear()
        for dataset in self.held.values():
            await dataset.release()


# -- the policy ------------------------------------------------------------------------------


class DaskRunner(AbstractRunner):
    """Runs every ready node at once on a Dask distributed cluster.

    Plain and ``async def`` functions alike execute on the workers (an ``async def`` node in
    an event loop of its own there). Intermediate data stays on the cluster: see the module
    documentation for what moves where. Every worker needs the same environment as this
    process (pipeloop, your project's package and its dependencies); functions and datasets
    travel by (cloud)pickle.

    Hooks run in this process and see Dask futures (or placeholders for data loaded on a
    worker) where other runners pass data.

    A node's ``retries`` become Dask's ``retries=`` (any exception, retried at once, maybe on
    another worker) when its ``retry_on`` covers every ``Exception`` and it has no
    ``retry_delay`` (its ``timeout`` then covers every attempt); otherwise pipeloop retries
    it by submitting it again. Tags can ask for Dask worker resources
    (``resources_by_tag={"gpu": {"GPU": 1}}``); a node asking for a resource no worker has
    waits forever, as in Dask.

    When a run fails, times out or is cancelled, every task of the run that has not finished
    is cancelled on the cluster. A task already executing on a worker is not interrupted
    (Dask cannot stop a running thread): it finishes there and its result is discarded.

    Args:
        address: the Dask scheduler to connect to (``tcp://host:8786``). With neither
            ``address`` nor ``client``, each run starts a ``LocalCluster`` and closes it
            afterwards.
        client: a ``distributed.Client`` to use; it is left open. A client created with
            ``asynchronous=True`` in the loop that runs the pipeline is used as it is; any
            other (a plain ``Client()`` from a script) lends its scheduler's address to a
            run-scoped asynchronous client.
        cluster_kwargs: keyword arguments for the run's ``LocalCluster`` (``n_workers``,
            ``processes``, ``threads_per_worker``, ``dashboard_address``, ``resources``...).
        resources_by_tag: node tag -> Dask resources a node with that tag needs.
        is_async: load a node's inputs (and save its outputs) concurrently.

    Raises:
        RunnerError: both ``address`` and ``client``, ``cluster_kwargs`` with a cluster to
            connect to, or malformed ``resources_by_tag``.
    """

    timeout_remark = (
        " Its Dask task was cancelled; if it was already executing, it finishes on its "
        "worker and its result is discarded."
    )

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Client | None = None,
        cluster_kwargs: Mapping[str, Any] | None = None,
        resources_by_tag: Mapping[str, Mapping[str, float]] | None = None,
        is_async: bool = True,
    ) -> None:
        super().__init__(is_async=is_async)
        if address is not None and client is not None:
            raise RunnerError("DaskRunner: pass either address or client, not both.")
        if cluster_kwargs and (address is not None or client is not None):
            raise RunnerError(
                "DaskRunner: cluster_kwargs configure the LocalCluster started when no "
                "address or client is given; they cannot apply to an existing cluster."
            )
        self.address = address
        self.client = client
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.resources_by_tag = _checked_resources(resources_by_tag)

    # -- the policy -----------------------------------------------------------------------

    def create_default_dataset(self, name: str) -> AbstractDataset:
        # Gathered data is already a private copy: no need to copy it again.
        return MemoryDataset(copy_mode="assign")

    def _check_pipeline(self, pipeline: Pipeline) -> None:
        """Refuse nodes whose function cannot be sent to a worker.

        Raises:
            RunnerError: names every node whose function cannot be pickled, even by value.
        """
        unpicklable = [node.name for node in pipeline.nodes if not _picklable(node.func)]
        if unpicklable:
            raise RunnerError(
                "DaskRunner cannot send these nodes to Dask workers because their functions "
                f"cannot be pickled: {', '.join(unpicklable)}. Check what they capture "
                "(locks, open files, clients), or use ThreadRunner."
            )

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Refused: nodes go to Dask only through a run's context (``open_run``).

        Raises:
            RunnerError: always.
        """
        raise RunnerError("DaskRunner executes nodes only inside runner.run(...), on the "
                          "run's cluster.")

    @asynccontextmanager
    async def open_run(self, pipeline: Pipeline, catalog: DataCatalog) -> AsyncIterator[RunContext]:
        """Connect to the cluster and keep the run's data there; on the way out, gather the
        pipeline's outputs (those of the healthy branches too, after a ``keep_going``
        failure) and drop every future of the run."""
        self._check_pipeline(pipeline)
        async with self._connect() as client, \
                mask_cluster_logs(client, getattr(catalog, "secrets", ())):
            run = _DaskRun(self, client)
            try:
                await run.place_data(pipeline, catalog)
                try:
                    yield run
                except NodesFailedError:
                    await run.gather_outputs(pipeline, catalog)
                    raise
                await run.gather_outputs(pipeline, catalog)
            finally:
                with anyio.CancelScope(shield=True):
                    await run.close()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Client]:
        """The run's client: the user's, one to ``address``, or one to a new LocalCluster."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise RunnerError("DaskRunner needs an asyncio event loop (not trio).") from None
        address = self.address
        if self.client is not None:
            if self.client.status != "running" or self.client.scheduler is None:
                raise RunnerError(f"DaskRunner: the client it was given is {self.client.status}.")
            if self.client.asynchronous:  # created in this loop: use it as it is
                yield self.client
                return
            address = self.client.scheduler.address
        cluster: LocalCluster | None = None
        client: Client | None = None
        try:
            if address is None:
                cluster = LocalCluster(asynchronous=True, **self.cluster_kwargs)
                await cluster
                logger.info("Started a Dask LocalCluster for this run at %s%s",
                            cluster.scheduler_address, _dashboard(cluster, self.cluster_kwargs))
            client = Client(cluster or address, asynchronous=True, set_as_default=False)
            try:
                await client
            except OSError as exc:  # includes the connect timeout
                raise RunnerError(
                    f"DaskRunner could not connect to the Dask scheduler at {address}: {exc}"
                ) from exc
            yield client
        finally:
            with anyio.move_on_after(_CLEANUP_TIMEOUT, shield=True):
                if client is not None:
                    await cast("Awaitable[None]", client.close())
                if cluster is not None:
                    await cast("Awaitable[None]", cluster.close())

    def _resources(self, node: Node) -> dict[str, float]:
        resources: dict[str, float] = {}
        for tag in sorted(node.tags & self.resources_by_tag.keys()):
            for resource, amount in self.resources_by_tag[tag].items():
                resources[resource] = max(amount, resources.get(resource, 0))
        return resources

    def __repr__(self) -> str:
        where = f"address={self.address!r}" if self.client is None else f"client={self.client!r}"
        return f"DaskRunner({where}, is_async={self.is_async})"


def _checked_resources(
    resources_by_tag: Mapping[str, Mapping[str, float]] | None,
) -> dict[str, dict[str, float]]:
    checked: dict[str, dict[str, float]] = {}
    for tag, resources in (resources_by_tag or {}).items():
        if not isinstance(resources, Mapping) or not all(
            isinstance(name, str) and isinstance(amount, int | float) and amount > 0
            for name, amount in resources.items()
        ):
            raise RunnerError(
                f"DaskRunner: resources_by_tag[{tag!r}] must map resource names to positive "
                f"amounts, like {{'GPU': 1}}; got {resources!r}."
            )
        checked[tag] = dict(resources)
    return checked


def _dashboard(cluster: LocalCluster, cluster_kwargs: Mapping[str, Any]) -> str:
    if cluster_kwargs.get("dashboard_address", ":8787") is None:
        return ""
    return f" (dashboard: {cluster.dashboard_link})"


def _picklable(obj: object) -> bool:
    try:
        cloudpickle.dumps(obj)
    except Exception:
        return False
    return True
