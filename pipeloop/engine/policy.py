"""The policy seam: what the scheduler asks of a runner, and nothing more.

The scheduler owns every run's order, data movement, hooks, retries, timeouts and report. A
policy decides only *where a node executes* and *how many execute at once*. Like httpx's
transport, the seam is small:

- :class:`Policy` is what a runner is to the scheduler: ``execute(node, inputs)`` for a plain
  node (the one method a local policy writes), ``max_concurrent_nodes``, and ``open_run``;
- :class:`RunContext` is one run's view of a policy, opened by ``open_run`` and closed when
  the run ends. Per-run resources live there — started workers, a cluster client, datasets
  that keep data remote — never on the runner, which concurrent runs share.

The scheduler imports only this module, never the runner classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from pipeloop.datasets.base import AbstractDataset
    from pipeloop.engine.node import Node

__all__ = ["Policy", "RunContext"]


@runtime_checkable
class Policy(Protocol):
    """What the scheduler needs of a runner (``AbstractRunner`` implements it)."""

    @property
    def max_concurrent_nodes(self) -> int | None:
        """How many nodes may execute at once; ``None`` for no limit."""
        ...

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Execute a plain (not ``async def``) node on its loaded inputs somewhere; return
        its outputs by dataset name (``node.run(inputs)`` does the call)."""
        ...


class RunContext:
    """One run's view of a policy: the scheduler talks only to this.

    The default executes ``async def`` nodes on the event loop and hands plain ones to the
    policy's :meth:`Policy.execute`. A policy that needs per-run state subclasses it and
    returns it from ``open_run``.

    Args:
        policy: the runner.
        datasets: replacements for entries of this run's catalog (e.g. holders of data that
            stays on a cluster), by dataset name.
        timeout_remark: appended to a ``NodeTimeoutError``'s message: what became of the
            call that ran out of time.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        datasets: Mapping[str, AbstractDataset] | None = None,
        timeout_remark: str = "",
    ) -> None:
        self.policy = policy
        self.datasets: dict[str, AbstractDataset] = dict(datasets or {})
        self.timeout_remark = timeout_remark or getattr(policy, "timeout_remark", "")

    @property
    def max_concurrent_nodes(self) -> int | None:
        """How many nodes may execute at once in this run; ``None`` for no limit."""
        return self.policy.max_concurrent_nodes

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        """Execute ``node`` (any kind) on loaded ``inputs``; return its outputs by name."""
        if node.is_async:
            return await node.arun(inputs)
        return await self.policy.execute(node, inputs)

    def retries_itself(self, node: Node) -> bool:
        """Whether :meth:`execute` applies ``node.retries`` itself (the scheduler then does
        not retry, so attempts are not multiplied)."""
        return False
