"""``scale``: chains and wide fans of growing size; construction timed apart from the run.

Kedro's runners are quadratic in the number of nodes (every finished node recomputes the
pipeline's free inputs), so Kedro runs only sizes up to :data:`KEDRO_MAX_NODES`.
"""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.engines import NodeSpec
from benchmarks.workloads import Case, Workload, runner_label, timed_run
from benchmarks.workloads.chain import chain_nodes
from benchmarks.workloads.funcs import inc

#: Largest pipeline Kedro is asked to run here: at 5,000 chained nodes it takes minutes.
KEDRO_MAX_NODES = 2_000


def fan_nodes(size: int) -> list[NodeSpec]:
    """``size`` independent nodes that all read ``seed``: every node is ready at once."""
    return [NodeSpec(inc, "seed", f"o{i}", f"n{i}") for i in range(size)]


SHAPES = {"chain": (chain_nodes, {"d0": 0}), "fan": (fan_nodes, {"seed": 0})}


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    cases = []
    for shape, (make_nodes, data) in SHAPES.items():
        for size in sizes:
            for policy in policies:
                skip = {}
                if size > KEDRO_MAX_NODES:
                    skip["kedro"] = (f"skipped above {KEDRO_MAX_NODES:,} nodes: Kedro's runner "
                                     "is quadratic in the number of nodes")
                cases.append(Case(
                    workload="scale", label=shape, policy=policy, size=size, nodes=size,
                    measure=lambda engine, make_nodes=make_nodes, data=data, size=size,
                    policy=policy: timed_run(engine, make_nodes(size), policy, data=data),
                    metrics=("run_s", "build_s"), skip=skip, runner_label=runner_label(policy),
                ))
    return cases


WORKLOAD = Workload(
    name="scale",
    summary="chains and fans of 1,000 to 100,000 trivial nodes: how construction and run "
            "grow with size",
    default_sizes=(1_000, 10_000, 100_000),
    tiny_sizes=(3, 30),
    default_policies=("sequential",),
    policies=("sequential", "thread"),
    cases=_cases,
)
