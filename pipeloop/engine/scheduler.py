"""The one scheduler: runs a pipeline's DAG as asyncio tasks under a runner's policy.

For each node the scheduler waits until its inputs exist, loads them concurrently, asks the
policy to execute the function, saves the outputs concurrently, wakes the nodes that were
waiting for them, and releases data no remaining node needs.

Ready nodes wait in a heap ordered by their position in ``pipeline.nodes``; a pool of worker
tasks takes them from it, growing on demand up to the policy's ``max_concurrent_nodes``. With a
limit of one this is exactly ``pipeline.nodes`` in order; without a limit every ready node
starts at once. All tasks live in one anyio task group, so none outlives the run.

The scheduler knows the policy only through its :class:`~pipeloop.engine.policy.RunContext`
(no import of the runner classes). It writes every fact about the run into a
:class:`~pipeloop.engine.report.RunReport` and tells hooks when each node starts and ends.
"""

from __future__ import annotations

import heapq
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread
from anyio.abc import TaskGroup

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.hooks import HOOK_NAMES, HookManager
from pipeloop.engine.node import Node
from pipeloop.engine.policy import RunContext
from pipeloop.engine.report import RunReport
from pipeloop.engine.resume import resume_command
from pipeloop.engine.transcoding import strip_transcoding
from pipeloop.errors import NodeExitError, NodeOutputError, NodesFailedError, NodeTimeoutError

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["Scheduler"]

T = TypeVar("T")

logger = logging.getLogger("pipeloop.runner")

#: Seconds of uninterrupted inline work after which a worker yields to the event loop.
_PAUSE_EVERY = 0.002


async def _gather(
    calls: Iterable[Callable[[], Coroutine[Any, Any, None]]], concurrently: bool
) -> None:
    """Await every call, at once when ``concurrently`` (and there is more than one)."""
    calls = list(calls)
    if len(calls) <= 1 or not concurrently:
        for call in calls:
            await call()
        return
    error: BaseException | None = None
    try:
        async with anyio.create_task_group() as group:
            for call in calls:
                group.start_soon(call)
    except BaseExceptionGroup as errors:
        error = _first_error(errors)
    if error is not None:
        raise error  # the dataset's own error, as with one input, not a group of one


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first exception in ``group`` (depth first) that is not a cancellation."""
    cancelled = anyio.get_cancelled_exc_class()
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            exc = _first_error(exc)
        if not isinstance(exc, cancelled):
            return exc
    return group


def _next_chunk(stream: Iterator[dict[str, Any]]) -> dict[str, Any] | None:
    """The next chunk of a generator node's outputs, or ``None`` when it is exhausted."""
    return next(stream, None)


def _split(names: Iterable[str], instant: set[str]) -> tuple[list[str], list[str]]:
    """Names of datasets that answer at once, and the others."""
    now: list[str] = []
    later: list[str] = []
    for name in names:
        (now if name in instant else later).append(name)
    return now, later


class _Deadline:
    """One attempt of a node under its ``timeout``: its loads, its call and its saves share
    one deadline, so a hung load or save fails the node as a slow function does (and a
    caller's cancellation never waits for either: a plain load in a thread is abandoned).
    A node without a timeout has no ``_Deadline``: its per-node path stays bare awaits.
    """

    __slots__ = ("_at", "_node", "_remark")

    def __init__(self, node: Node, timeout: float, remark: str) -> None:
        self._node = node
        self._remark = remark
        self._at = anyio.current_time() + timeout

    async def within(self, doing: str, work: Awaitable[T], *, inline_late: bool = False) -> T:
        """Await ``work`` before the deadline, or raise ``NodeTimeoutError`` saying what the
        node was ``doing``; with ``inline_late``, work that could not be interrupted (a
        function inline on the loop) and ended late also fails, since late is late."""
        with anyio.CancelScope(deadline=self._at) as scope:
            result = await work
        if scope.cancelled_caught or (inline_late and anyio.current_time() >= self._at):
            raise self._timed_out(doing)
        return result

    def _timed_out(self, doing: str) -> NodeTimeoutError:
        node = self._node
        message = f"Node '{node.name}' did not finish within its timeout of {node.timeout:g} s"
        if doing == "running":
            return NodeTimeoutError(f"{message}.{self._remark}")
        if doing == "streaming":
            return NodeTimeoutError(f"{message}.")
        return NodeTimeoutError(f"{message}: it was still {doing}.")


class Scheduler:
    """Runs one pipeline once. Made and used by ``AbstractRunner.run``.

    Args:
        pipeline: what to run.
        catalog: the run's catalog, holding a dataset for every name the pipeline uses.
        context: the policy's view of this run: where nodes execute, how many at once.
        hooks: the run's hooks.
        run_id: identifies the run to hooks.
        report: where the run's facts go; it must already be started.
        concurrent_io: load a node's inputs (and save its outputs) concurrently.
        keep_going: after a failure, still run every node that does not depend on it.
    """

    def __init__(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        context: RunContext,
        hooks: HookManager,
        run_id: str | None,
        *,
        report: RunReport,
        concurrent_io: bool = True,
        keep_going: bool = False,
    ) -> None:
        self._catalog = catalog
        self._context = context
        self._hooks = hooks
        # Decided once: the per-node path asks a frozenset, not the manager. A hook disabled
        # later (it raised) is still called, and answers nothing.
        self._observed = frozenset(name for name in HOOK_NAMES if name in hooks)
        self._run_id = run_id
        self._report = report
        self._keep_going = keep_going
        self._concurrent_io = concurrent_io

        self._nodes: list[Node] = list(pipeline.nodes)
        self._children: list[list[int]] = [[] for _ in self._nodes]
        self._waiting_on: list[int] = [0] * len(self._nodes)
        self._link_nodes()
        self._load_counts: Counter[str] = Counter(
            name for node in self._nodes for name in set(node.inputs)
        )
        self._kept = pipeline.inputs() | pipeline.outputs()
        self._instant = {name for name in pipeline.datasets()
                         if getattr(catalog.get(name), "instant", False)}

        self._ready: list[int] = [i for i, count in enumerate(self._waiting_on) if count == 0]
        self._waiters: deque[anyio.Event] = deque()
        self._limit = context.max_concurrent_nodes or len(self._nodes) or 1
        self._workers = 0
        self._completed: list[Node] = []
        self._failures: dict[Node, Exception] = {}
        self._skipped: set[int] = set()
        self._group: TaskGroup | None = None
        self._last_pause = time.monotonic()

    def _link_nodes(self) -> None:
        # By base name: a node reading ``ds@spark`` waits for the one writing ``ds@pandas``.
        producer = {strip_transcoding(out): i for i, node in enumerate(self._nodes)
                    for out in node.outputs}
        for i, node in enumerate(self._nodes):
            parents = {producer[base] for base in map(strip_transcoding, node.inputs)
                       if base in producer}
            self._waiting_on[i] = len(parents)
            for parent in parents:
                self._children[parent].append(i)

    # -- the run --------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every node; return when all completed.

        Raises:
            Exception: the first node's error, unchanged (with a note naming the node);
                with ``keep_going``, ``NodesFailedError`` listing every failed node.
        """
        if not self._nodes:
            return
        try:
            async with anyio.create_task_group() as group:
                self._group = group
                self._spawn_workers(len(self._ready))
        except BaseException:
            self._log_unfinished()
            raise
        if self._failures:
            self._log_unfinished()
            raise self._failure_to_raise()

    def _spawn_workers(self, wanted: int) -> None:
        assert self._group is not None
        for _ in range(min(wanted, self._limit - self._workers)):
            self._workers += 1
            self._group.start_soon(self._worker)

    async def _worker(self) -> None:
        while True:
            await self._pause_if_due()
            while not self._ready:
                event = anyio.Event()
                self._waiters.append(event)
                await event.wait()
            if self._failures and not self._keep_going:
                return  # the run is stopping
            if self._report.stop_requested:
                await anyio.sleep_forever()  # no node starts; the caller cancels the run
            index = heapq.heappop(self._ready)
            await self._run_node(index)

    async def _pause_if_due(self) -> None:
        """Let cancellation in between nodes, and the rest of the app run.

        Nodes whose data is in memory and whose functions run inline never suspend, so a
        worker could otherwise run them all without the loop seeing a cancelled scope, an
        expired deadline or another task. Every few milliseconds of such work the worker
        yields twice: once so expired deadlines fire, once so their cancellation lands.
        """
        now = time.monotonic()
        if now - self._last_pause < _PAUSE_EVERY:
            await anyio.lowlevel.checkpoint_if_cancelled()
            return
        self._last_pause = now
        await anyio.lowlevel.checkpoint()
        await anyio.lowlevel.checkpoint()

    def _push_ready(self, indices: list[int]) -> None:
        """Queue newly ready nodes; wake idle workers, then start new ones for the rest
        (the calling worker takes one itself)."""
        for index in indices:
            heapq.heappush(self._ready, index)
        unclaimed = len(indices)
        while unclaimed and self._waiters:
            self._waiters.popleft().set()
            unclaimed -= 1
        if unclaimed > 1:
            self._spawn_workers(unclaimed - 1)

    def _settle(self) -> None:
        """End the run once every node completed, failed or was skipped."""
        settled = len(self._completed) + len(self._failures) + len(self._skipped)
        if settled == len(self._nodes):
            assert self._group is not None
            self._group.cancel_scope.cancel()

    # -- one node -------------------------------------------------------------------------

    async def _run_node(self, index: int) -> None:
        node = self._nodes[index]
        self._report.node_started(node.name)
        if "on_node_start" in self._observed:
            await self._hooks.call("on_node_start", node=node, run_id=self._run_id)
        try:
            outputs, deadline = await self._attempts(node)
            if not node.is_generator:  # a generator's chunks were saved as they came
                try:
                    saving = self._save_outputs(node, outputs)
                    if deadline is None:
                        await saving
                    else:
                        await deadline.within("saving its outputs", saving)
                except Exception as exc:  # a failing save is the node's failure
                    await self._report_node_error(node, {}, exc)
                    raise
            if node.confirms:
                await self._confirm(node)
            await self._release_inputs(node)
        except Exception as exc:
            exc.add_note(f"pipeloop: raised while running node '{node.name}'.")
            await self._on_failure(index, exc)
            return
        self._completed.append(node)
        self._report.node_ended(node.name, None)
        if "on_node_end" in self._observed:
            await self._hooks.call("on_node_end", node=node, error=None,
                                   state=self._report.node_states[node.name],
                                   run_id=self._run_id)
        logger.info("Completed %d out of %d tasks", len(self._completed), len(self._nodes))
        ready = []
        for child in self._children[index]:
            self._waiting_on[child] -= 1
            if self._waiting_on[child] == 0 and child not in self._skipped:
                ready.append(child)
        if ready:
            self._push_ready(ready)
        self._settle()

    async def _attempts(self, node: Node) -> tuple[dict[str, Any], _Deadline | None]:
        """Load the inputs and execute the node (a generator node saves its chunks as it
        goes); again, on freshly loaded inputs and after a growing delay, while it fails with
        a retryable error and has retries left. Hooks see one node run: ``before_node_run``
        once, then ``after_node_run`` (a generator's last chunk) or ``on_node_error`` once.

        Returns the outputs and the last attempt's deadline, which its saves share."""
        delay = node.retry_delay
        attempt = 1
        replaced: dict[str, Any] = {}
        while True:
            inputs: dict[str, Any] = {}
            deadline = (None if node.timeout is None
                        else _Deadline(node, node.timeout, self._context.timeout_remark))
            try:
                loading = self._load_inputs(node)
                inputs = await (loading if deadline is None
                                else deadline.within("loading its inputs", loading))
                if attempt == 1:
                    replaced = await self._before_node_run(node, inputs)
                if replaced:  # a hook may only replace what the node reads
                    inputs.update({name: data for name, data in replaced.items()
                                   if name in inputs})
                self._log_running(node)
                self._report.node_attempted(node.name)
                execute = self._save_chunks if node.is_generator else self._context.execute
                executing = execute(node, inputs)
                outputs = await (executing if deadline is None else deadline.within(
                    "streaming" if node.is_generator else "running", executing,
                    inline_late=not node.is_generator))
            except node.retry_on as exc:
                if not self._retry_allowed(node, exc, attempt):
                    await self._report_node_error(node, inputs, exc)
                    raise
                logger.warning("Node '%s' failed (attempt %d of %d): %r; retrying in %.3g s",
                               node.name, attempt, node.retries + 1, exc, delay)
            except Exception as exc:
                await self._report_node_error(node, inputs, exc)
                raise
            else:
                if "after_node_run" in self._observed:
                    await self._hooks.call("after_node_run", outputs=outputs,
                                           **self._node_args(node, inputs))
                return outputs, deadline
            await anyio.sleep(delay)
            delay *= 2
            attempt += 1

    async def _save_chunks(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Execute a generator node: save each chunk it yields before asking for the next,
        as Kedro streams; return the last chunk. The generator runs in this process (a plain
        one in a worker thread, chunk by chunk), whatever the policy."""
        last: dict[str, Any] = {}
        if node.is_async:
            chunks = node.aiter_outputs(inputs)
            try:
                async for outputs in chunks:
                    await self._save_outputs(node, outputs)
                    last = outputs
            finally:
                aclose = getattr(chunks, "aclose", None)
                if aclose is not None:
                    await aclose()
            return last
        stream = node.iter_outputs(inputs)
        try:
            while True:
                chunk: dict[str, Any] | None = await anyio.to_thread.run_sync(
                    _next_chunk, stream)
                if chunk is None:
                    break
                await self._save_outputs(node, chunk)
                last = chunk
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return last

    async def _confirm(self, node: Node) -> None:
        for name in node.confirms:
            await self._catalog.confirm(name)

    async def _before_node_run(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Call ``before_node_run`` hooks; return the inputs they replace."""
        replaced: dict[str, Any] = {}
        if "before_node_run" in self._observed:
            for result in await self._hooks.call("before_node_run",
                                                 **self._node_args(node, inputs)):
                replaced.update(result or {})
        return replaced

    @staticmethod
    def _log_running(node: Node) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("Running node: %s", node.log_label)

    def _retry_allowed(self, node: Node, exc: BaseException, attempt: int) -> bool:
        # A wrong return shape is a bug in the node, not a passing fault; a generator's
        # chunks already saved would be saved again.
        return (attempt <= node.retries
                and not isinstance(exc, (NodeOutputError, NodeExitError))
                and not node.is_generator and not self._context.retries_itself(node))

    async def _report_node_error(
        self, node: Node, inputs: dict[str, Any], exc: BaseException
    ) -> None:
        if "on_node_error" in self._observed:
            await self._hooks.call("on_node_error", error=exc, **self._node_args(node, inputs))

    def _node_args(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        return {"node": node, "catalog": self._catalog, "inputs": inputs,
                "is_async": self._concurrent_io, "run_id": self._run_id,
                "session_id": self._run_id}

    # -- data -----------------------------------------------------------------------------

    async def _load_inputs(self, node: Node) -> dict[str, Any]:
        inputs: dict[str, Any] = {}

        async def load(name: str) -> None:
            hooks = self._hooks
            if "before_dataset_loaded" in self._observed:
                await hooks.call("before_dataset_loaded", dataset_name=name, node=node)
            inputs[name] = data = await self._catalog.load(name)
            if "after_dataset_loaded" in self._observed:
                await hooks.call("after_dataset_loaded", dataset_name=name, data=data, node=node)

        now, later = _split(dict.fromkeys(node.inputs), self._instant)
        for name in now:
            await load(name)
        await _gather([partial(load, name) for name in later], self._concurrent_io)
        return inputs

    async def _save_outputs(self, node: Node, outputs: dict[str, Any]) -> None:
        async def save(name: str, data: Any) -> None:
            hooks = self._hooks
            if "before_dataset_saved" in self._observed:
                await hooks.call("before_dataset_saved", dataset_name=name, data=data, node=node)
            await self._catalog.save(name, data)
            if "after_dataset_saved" in self._observed:
                await hooks.call("after_dataset_saved", dataset_name=name, data=data, node=node)

        now, later = _split(outputs, self._instant)
        for name in now:
            await save(name, outputs[name])
        await _gather([partial(save, name, outputs[name]) for name in later],
                      self._concurrent_io)

    async def _release_inputs(self, node: Node) -> None:
        for name in set(node.inputs):
            self._load_counts[name] -= 1
            if self._load_counts[name] < 1 and name not in self._kept:
                await self._catalog.release(name)

    # -- failure --------------------------------------------------------------------------

    async def _on_failure(self, index: int, exc: Exception) -> None:
        node = self._nodes[index]
        logger.error("Node '%s' failed with error: %r", node.name, exc)
        self._failures[node] = exc
        self._report.node_ended(node.name, exc)
        if "on_node_end" in self._observed:
            with anyio.CancelScope(shield=True):
                await self._hooks.call("on_node_end", node=node, error=exc,
                                       state=self._report.node_states[node.name],
                                       run_id=self._run_id)
        if not self._keep_going:
            assert self._group is not None
            self._group.cancel_scope.cancel()
            return
        skipped = self._descendants(index)
        self._skipped |= skipped
        self._report.skip(self._nodes[i].name for i in sorted(skipped))
        self._settle()

    def _descendants(self, index: int) -> set[int]:
        found: set[int] = set()
        stack = list(self._children[index])
        while stack:
            child = stack.pop()
            if child not in found and child not in self._skipped:
                found.add(child)
                stack.extend(self._children[child])
        return found

    def _failure_to_raise(self) -> Exception:
        if not self._keep_going:
            return next(iter(self._failures.values()))
        error = NodesFailedError(
            f"{len(self._failures)} node(s) failed: "
            + ", ".join(node.name for node in self._failures),
            list(self._failures.values()),
        )
        error.failed_nodes = [node.name for node in self._failures]
        error.resume_nodes = self._report.resume_nodes
        return error

    def _log_unfinished(self) -> None:
        completed = set(self._completed)
        unfinished = [node for node in self._nodes if node not in completed]
        if not unfinished:
            return
        logger.warning(
            "There %s %d %s that %s not run: %s.\nYou can resume the pipeline run "
            "from the nearest nodes with persisted inputs by adding the following argument "
            "to your previous command:\n  %s",
            *(("is", 1, "node", "has") if len(unfinished) == 1
              else ("are", len(unfinished), "nodes", "have")),
            ", ".join(node.name for node in unfinished),
            resume_command(self._report.resume_nodes),
        )

