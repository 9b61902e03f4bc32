"""``RunReport``: every fact about one run, as objects the caller holds.

Pass a report to ``runner.run(..., report=report)`` (or get one back from ``Project.run``)
and read it while the run goes on, after it completes, after it raises and after the caller
cancelled it: the run's status, each node's state and timings, each failed node's own
exception, the nodes that did not finish and the nodes ``--from-nodes`` needs to finish them.
The scheduler is the only writer; nothing here parses a message.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeloop.datasets.catalog import DataCatalog
    from pipeloop.engine.node import Node
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["NodeState", "RunReport", "RunStatus"]


class RunStatus(StrEnum):
    """Where a run is: ``running`` until it ends ``completed``, ``failed`` or ``cancelled``."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class NodeState(StrEnum):
    """Where one node is. ``skipped``: it will not run because a node it depends on failed
    (``keep_going``) or because the selection left it out of this run."""

    WAITING = "waiting"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class NodeTiming:
    """When a node started and ended (``time.time()`` seconds), and how many attempts it
    took."""

    started: float | None = None
    ended: float | None = None
    attempts: int = 0

    @property
    def duration(self) -> float | None:
        """Seconds from the first load to the last save, when both happened."""
        if self.started is None or self.ended is None:
            return None
        return self.ended - self.started


@dataclass
class RunReport:
    """The state of one run, kept up to date by the scheduler.

    A report is filled by one run; pass a fresh one to each run.

    Attributes:
        run_id: the run's id (set when the run starts).
        status: the run's :class:`RunStatus`.
        node_states: every node of the run's pipeline by name, in pipeline order.
        errors: each failed node's own exception, by node name.
        outputs: the free outputs ``run`` returned (empty until it returns).
        error: what ended a failed run when it was not a node's failure (a hook, a missing
            input), or ``None``.
        started_at, ended_at: ``time.time()`` of the run's start and end.
        stop_requested: :meth:`request_stop` was called: no node starts any more.
    """

    run_id: str | None = None
    status: RunStatus = RunStatus.PENDING
    node_states: dict[str, NodeState] = field(default_factory=dict)
    errors: dict[str, BaseException] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None
    started_at: float | None = None
    ended_at: float | None = None
    stop_requested: bool = False
    _nodes: list[Node] = field(default_factory=list, repr=False)
    _catalog: DataCatalog | None = field(default=None, repr=False)
    _resume: list[str] | None = field(default=None, repr=False)  # once the run ended
    # Plain numbers on the scheduler's per-node path; NodeTiming objects only when read.
    _started: dict[str, float] = field(default_factory=dict, repr=False)
    _ended: dict[str, float] = field(default_factory=dict, repr=False)
    _attempts: dict[str, int] = field(default_factory=dict, repr=False)

    # -- what a reader asks ---------------------------------------------------------------

    @property
    def failed_nodes(self) -> list[str]:
        """Names of the nodes that failed, in pipeline order."""
        return self._names_in(NodeState.FAILED)

    @property
    def completed_nodes(self) -> list[str]:
        """Names of the nodes that completed (outputs saved), in pipeline order."""
        return self._names_in(NodeState.COMPLETED)

    @property
    def unfinished_nodes(self) -> list[str]:
        """Names of the nodes that did not complete (failed, cancelled, skipped after a
        failure, never started), in pipeline order."""
        return [name for name, state in self.node_states.items()
                if state is not NodeState.COMPLETED]

    @property
    def resume_nodes(self) -> list[str]:
        """The nodes to pass to ``from_nodes`` (``--from-nodes``) to finish what this run
        did not: the unfinished nodes and the producers of the in-memory data they need.
        Empty when every node completed."""
        if self._resume is not None:
            return list(self._resume)
        from pipeloop.engine.resume import nodes_to_resume_from

        unfinished = set(self.unfinished_nodes)
        found: list[str] = []
        if unfinished and self._catalog is not None:
            nodes = [node for node in self._nodes if node.name in unfinished]
            found = nodes_to_resume_from(self._nodes, nodes, self._catalog)
        if self.status not in (RunStatus.PENDING, RunStatus.RUNNING):
            self._resume = found  # the states no longer change: walk the graph once
        return list(found)

    def running_nodes(self, *, plain_only: bool = False) -> list[str]:
        """Names of the nodes running now, in pipeline order; with ``plain_only``, only
        those with a plain (not ``async def``) function, which a thread may be running
        where cancellation cannot reach."""
        if not plain_only:
            return self._names_in(NodeState.RUNNING)
        return [node.name for node in self._nodes if not node.is_async
                and self.node_states.get(node.name) is NodeState.RUNNING]

    @property
    def timings(self) -> dict[str, NodeTiming]:
        """When each node that started started and ended, and its attempts, by name."""
        return {name: NodeTiming(started, self._ended.get(name), self._attempts.get(name, 0))
                for name, started in self._started.items()}

    @property
    def duration(self) -> float | None:
        """Seconds the run took, once it ended."""
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def _names_in(self, state: NodeState) -> list[str]:
        return [name for name, current in self.node_states.items() if current is state]

    # -- what the caller may ask -----------------------------------------------------------

    def request_stop(self) -> None:
        """Ask the run to start no new node; the nodes running go on (and save what they
        return). The run then waits for its caller to cancel it, which the caller does when
        it chooses: ``pipeloop run``, at the first Ctrl-C, once the plain nodes running in
        threads have ended or the runner's ``grace_period`` is over.

        Safe to call from a signal handler: it only sets :attr:`stop_requested`.
        """
        self.stop_requested = True

    # -- what the scheduler writes ----------------------------------------------------------

    def start(self, run_id: str, pipeline: Pipeline, catalog: DataCatalog) -> None:
        """The run begins: every node of ``pipeline`` is waiting."""
        if self.status is not RunStatus.PENDING:
            from pipeloop.errors import RunnerError

            raise RunnerError("This RunReport already belongs to a run; pass a new "
                              "RunReport() to each run.")
        self.run_id = run_id
        self._nodes = list(pipeline.nodes)
        self._catalog = catalog
        self.node_states = {node.name: NodeState.WAITING for node in self._nodes}
        self.status = RunStatus.RUNNING
        self.started_at = time.time()

    def node_started(self, name: str) -> None:
        """A node began loading its inputs."""
        self.node_states[name] = NodeState.RUNNING
        self._started[name] = time.time()

    def node_attempted(self, name: str) -> None:
        """A node's function is about to execute (once per attempt)."""
        self._attempts[name] = self._attempts.get(name, 0) + 1

    def node_ended(self, name: str, error: BaseException | None) -> None:
        """A node saved its last output, or failed with ``error``."""
        self.node_states[name] = NodeState.COMPLETED if error is None else NodeState.FAILED
        if error is not None:
            self.errors[name] = error
        self._ended[name] = time.time()

    def skip(self, names: Iterable[str]) -> None:
        """These nodes will not run (a node they depend on failed)."""
        for name in names:
            self.node_states[name] = NodeState.SKIPPED

    def end(self, status: RunStatus, error: BaseException | None = None) -> None:
        """The run is over. Nodes still running were stopped, so they count as waiting
        (not started) again: only completed nodes count as done."""
        for name, state in self.node_states.items():
            if state is NodeState.RUNNING:
                self.node_states[name] = NodeState.WAITING
        self.status = status
        if error is not None and self.error is None and status is RunStatus.FAILED:
            self.error = error
        self.ended_at = time.time()
