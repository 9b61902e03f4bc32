"""``parallel-startup``: a few trivial nodes on ParallelRunner, pool start included.

What a short pipeline pays for worker processes: starting them (fresh interpreters for
pipeloop, a fork plus a manager process for Kedro) and stopping them before ``run`` returns.
The "pool warm" case times a second run on the same event loop instead, whose workers already
exist: the difference is the pool's start.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.engines import NodeSpec
from benchmarks.workloads import KEDRO_NOT_WARM, WARM, Case, Workload, runner_label, timed_run
from benchmarks.workloads.funcs import gather, inc


def startup_nodes(size: int) -> list[NodeSpec]:
    """``size - 1`` independent trivial nodes and a fan-in: ``size`` nodes in all."""
    work = [NodeSpec(inc, "seed", f"x{i}", f"inc{i}") for i in range(max(size - 1, 1))]
    return [*work, NodeSpec(gather, [spec.outputs for spec in work], "gathered", "gather")]


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    cases = []
    for size in sizes:
        for policy in policies:
            for warm in (False, True) if policy == "parallel" else (False,):
                cases.append(Case(
                    workload="parallel-startup",
                    label=f"trivial nodes, {WARM}" if warm else "trivial nodes",
                    policy=policy, size=size, nodes=len(startup_nodes(size)),
                    measure=lambda engine, size=size, policy=policy, warm=warm: timed_run(
                        engine, startup_nodes(size), policy, data={"seed": 0}, warm=warm),
                    params={"warm": warm}, skip={"kedro": KEDRO_NOT_WARM} if warm else {},
                    runner_label=runner_label(policy),
                ))
    return cases


WORKLOAD = Workload(
    name="parallel-startup",
    summary="ParallelRunner on 9 trivial nodes, including starting and stopping the pool",
    default_sizes=(9,),
    tiny_sizes=(3,),
    default_policies=("parallel",),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)
