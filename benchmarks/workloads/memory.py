"""``memory``: a chain of N nodes each producing a ~20 MB object — peak memory.

An engine that releases each intermediate as soon as its last reader finished holds about
two objects at a time (a node's input and its output); one that keeps them holds N. Peak
RSS is a process-wide high-water mark, so every run happens in a fresh child process
(``python -m benchmarks.workloads.memory_child``), which reports its peak above the RSS it
had just before the run (interpreter, imports and the first object), the peak of the memory
Python objects hold (``tracemalloc``: what the engine keeps alive, without the allocator's
retained free pages that RSS also counts), and the peak total RSS of its worker processes
(ParallelRunner; Kedro's manager process included). ``tracemalloc`` slows allocation, so
this workload's run times are not comparable with the others'.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.engines import Engine, NodeSpec
from benchmarks.workloads import Case, Sample, Workload, runner_label
from benchmarks.workloads.funcs import blob_from

MB = 1 << 20
OBJECT_MB = 20
TINY_OBJECT_MB = 1


def memory_nodes(size: int) -> list[NodeSpec]:
    return [NodeSpec(blob_from, f"b{i}", f"b{i + 1}", f"blob{i}") for i in range(size)]


def _measure_in_child(engine: Engine, size: int, policy: str, object_mb: int) -> Sample:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    request = json.dumps({"engine": engine.name, "size": size, "policy": policy,
                          "object_mb": object_mb, "traced": True})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.workloads.memory_child", request],
        capture_output=True, text=True, env=env, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child ({engine.name}, {policy}) failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    object_mb = TINY_OBJECT_MB if tiny else OBJECT_MB
    return [
        Case(
            workload="memory", label=f"{object_mb} MB per node", policy=policy, size=size,
            nodes=size,
            measure=lambda engine, size=size, policy=policy: _measure_in_child(
                engine, size, policy, object_mb),
            metrics=("peak_traced_mb", "peak_rss_mb", "workers_peak_rss_mb", "run_s"),
            params={"object_mb": object_mb},
            runner_label=runner_label(policy),
        )
        for size in sizes for policy in policies
    ]


WORKLOAD = Workload(
    name="memory",
    summary="a chain of N nodes each producing a ~20 MB object: peak RSS (release of "
            "intermediates), one child process per run",
    default_sizes=(50,),
    tiny_sizes=(3,),
    default_policies=("sequential", "thread", "parallel"),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)
