"""``slow-io``: one node with N inputs and N outputs whose datasets take 50 ms per load/save.

pipeloop's dataset awaits ``asyncio.sleep``; Kedro's equivalent blocks in ``time.sleep``.
Both engines are asked to move data concurrently (``is_async=True``, pipeloop's default;
Kedro then loads and saves in threads, except under its ThreadRunner, which does not support
it), so the ideal run is 50 ms of loads + 50 ms of saves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.engines import Engine, NodeSpec
from benchmarks.workloads import KEDRO_NOT_WARM, WARM, Case, Workload, runner_label, timed_run
from benchmarks.workloads.funcs import split

DELAY = 0.050
KEDRO_THREAD_NOTE = ("Kedro's ThreadRunner cannot load and save concurrently (given "
                     "is_async=True it warns and sets it to False): it runs with is_async=False")


def slow_nodes(size: int) -> list[NodeSpec]:
    return [NodeSpec(split, [f"in{i}" for i in range(size)],
                     [f"out{i}" for i in range(size)], "split")]


def slow_datasets(size: int) -> Any:
    def make(engine: Engine) -> dict[str, Any]:
        datasets = {f"in{i}": engine.slow_dataset(DELAY, i) for i in range(size)}
        datasets.update({f"out{i}": engine.slow_dataset(DELAY) for i in range(size)})
        return datasets
    return make


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    cases = []
    for size in sizes:
        for policy in policies:
            for warm in (False, True) if policy == "parallel" else (False,):
                label = f"{size} in + {size} out x 50 ms"
                skip = {}
                if warm:
                    label += f", {WARM}"
                    skip["kedro"] = KEDRO_NOT_WARM
                cases.append(Case(
                    workload="slow-io", label=label, policy=policy, size=size, nodes=1,
                    measure=lambda engine, size=size, policy=policy, warm=warm: timed_run(
                        engine, slow_nodes(size), policy, datasets=slow_datasets(size),
                        is_async=True, warm=warm),
                    params={"delay_s": DELAY, "is_async": True, "warm": warm}, skip=skip,
                    runner_label=runner_label(policy, is_async=True),
                    notes={"kedro": KEDRO_THREAD_NOTE} if policy == "thread" else {},
                ))
    return cases


WORKLOAD = Workload(
    name="slow-io",
    summary="one node, N inputs and N outputs of 50 ms each: concurrent loads and saves",
    default_sizes=(8,),
    tiny_sizes=(2,),
    default_policies=("sequential", "thread", "parallel"),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)
