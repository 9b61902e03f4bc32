"""``chain``: N trivial nodes in a chain over memory datasets — the scheduler's cost per node."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.engines import NodeSpec
from benchmarks.workloads import Case, Workload, runner_label, timed_run
from benchmarks.workloads.funcs import inc


def chain_nodes(size: int) -> list[NodeSpec]:
    """``d0 -> n0 -> d1 -> n1 -> ... -> d<size>``."""
    return [NodeSpec(inc, f"d{i}", f"d{i + 1}", f"n{i}") for i in range(size)]


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    return [
        Case(
            workload="chain", label="chain", policy=policy, size=size, nodes=size,
            measure=lambda engine, size=size, policy=policy: timed_run(
                engine, chain_nodes(size), policy, data={"d0": 0}),
            runner_label=runner_label(policy),
        )
        for size in sizes for policy in policies
    ]


WORKLOAD = Workload(
    name="chain",
    summary="N trivial nodes in a chain, memory datasets: scheduler overhead per node",
    default_sizes=(1_000,),
    tiny_sizes=(5,),
    default_policies=("sequential", "thread"),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)
