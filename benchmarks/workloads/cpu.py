"""``cpu``: N independent nodes of pure-Python CPU work, then a fan-in.

Each node holds the GIL for its whole call, so only worker processes run them in parallel;
the figure that matters is ParallelRunner's speed-up over SequentialRunner on this machine.
The work per node is calibrated once per invocation so that one node takes about
:data:`SECONDS_PER_NODE` here, and the same iteration count is used by every engine.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence

from benchmarks.engines import NodeSpec
from benchmarks.workloads import KEDRO_NOT_WARM, WARM, Case, Workload, runner_label, timed_run
from benchmarks.workloads.funcs import burn, gather

SECONDS_PER_NODE = 0.25
TINY_SECONDS_PER_NODE = 0.01


@functools.cache
def iterations_for(seconds: float) -> int:
    """How many ``burn`` iterations take ``seconds`` of CPU on this machine (best of five).

    CPU time, not wall time: other work on a busy machine would make the probe look slow and
    the nodes short.
    """
    probe = 300_000
    best = min(_cpu_time_of_burn(probe) for _ in range(5))
    return max(1, round(probe * seconds / best))


def _cpu_time_of_burn(iterations: int) -> float:
    start = time.thread_time()
    burn(iterations)
    return time.thread_time() - start


def cpu_nodes(size: int) -> list[NodeSpec]:
    work = [NodeSpec(burn, "iterations", f"c{i}", f"burn{i}") for i in range(size)]
    return [*work, NodeSpec(gather, [f"c{i}" for i in range(size)], "gathered", "gather")]


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    seconds = TINY_SECONDS_PER_NODE if tiny else SECONDS_PER_NODE
    iterations = iterations_for(seconds)
    label = f"{seconds:g} s of CPU per node"
    params = {"seconds_per_node": seconds, "iterations": iterations, "cpus": os.cpu_count()}
    cases = []
    for size in sizes:
        for policy in policies:
            for warm in (False, True) if policy == "parallel" else (False,):
                cases.append(Case(
                    workload="cpu", label=f"{label}, {WARM}" if warm else label, policy=policy,
                    size=size, nodes=size + 1,
                    measure=lambda engine, size=size, policy=policy, warm=warm: timed_run(
                        engine, cpu_nodes(size), policy, data={"iterations": iterations},
                        warm=warm),
                    params={**params, "warm": warm},
                    skip={"kedro": KEDRO_NOT_WARM} if warm else {},
                    runner_label=runner_label(policy),
                ))
    return cases


WORKLOAD = Workload(
    name="cpu",
    summary="N independent nodes of ~0.25 s pure-Python CPU, then a fan-in: process "
            "policy speed-up on this machine's cores",
    default_sizes=(8,),
    tiny_sizes=(2,),
    default_policies=("sequential", "parallel"),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)
