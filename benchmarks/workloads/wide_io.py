"""``wide-io``: N independent nodes that each wait 10 ms, then one fan-in node.

Plain nodes wait with ``time.sleep`` (a blocking client), ``async def`` nodes with
``await asyncio.sleep`` (an async client; pipeloop only: Kedro cannot run ``async def``
functions as nodes). A third case times a second run on the same event loop, when the
runner's worker threads already exist (what an async app that runs pipelines repeatedly pays).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.engines import NodeSpec
from benchmarks.workloads import KEDRO_NOT_WARM, WARM, Case, Workload, runner_label, timed_run
from benchmarks.workloads.funcs import gather, sleep_async, sleep_sync

DELAY = 0.010
MAX_WORKERS = 200


def wide_nodes(size: int, func: Callable[..., Any]) -> list[NodeSpec]:
    waits = [NodeSpec(func, "delay", f"w{i}", f"wait{i}") for i in range(size)]
    return [*waits, NodeSpec(gather, [f"w{i}" for i in range(size)], "gathered", "gather")]


VARIANTS = (
    # label, node function, warm pool
    ("sync nodes (time.sleep)", sleep_sync, False),
    (f"sync nodes (time.sleep), {WARM}", sleep_sync, True),
    ("async nodes (asyncio.sleep)", sleep_async, False),
)


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    cases = []
    for size in sizes:
        for label, func, warm in VARIANTS:
            is_async_nodes = func is sleep_async
            for policy in policies:
                if is_async_nodes and policy == "sequential":
                    continue  # one at a time by definition: N x 10 ms, nothing to learn
                if warm and policy != "thread":
                    continue  # the thread pool's start is what the warm case isolates
                workers = max(MAX_WORKERS, size) if policy == "thread" else None
                skip = {}
                if is_async_nodes:
                    skip["kedro"] = "Kedro cannot run async def nodes"
                elif warm:
                    skip["kedro"] = KEDRO_NOT_WARM
                cases.append(Case(
                    workload="wide-io", label=label, policy=policy, size=size, nodes=size + 1,
                    measure=lambda engine, size=size, func=func, policy=policy,
                    workers=workers, warm=warm: timed_run(
                        engine, wide_nodes(size, func), policy, data={"delay": DELAY},
                        max_workers=workers, warm=warm),
                    params={"delay_s": DELAY, "max_workers": workers, "warm": warm}, skip=skip,
                    runner_label=runner_label(policy, max_workers=workers),
                ))
    return cases


WORKLOAD = Workload(
    name="wide-io",
    summary="N independent nodes waiting 10 ms each (time.sleep or asyncio.sleep), then a "
            "fan-in: I/O concurrency",
    default_sizes=(200,),
    tiny_sizes=(4,),
    # ParallelRunner (about 2 s here, and 47 s for Kedro) only with --runner parallel/all.
    default_policies=("thread",),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)
