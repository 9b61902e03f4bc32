"""``heavy-imports``: a cold ``ParallelRunner(max_workers=2)`` run of nodes whose module
imports heavy libraries (see :mod:`benchmarks.workloads.heavy_nodes`).

Each run happens in a fresh process (``python -m benchmarks.workloads.heavy_imports_child``)
that imports the node module first, untimed, as an app has before it runs a pipeline: what is
timed is making the runner and the run, so the cost of getting the module into the workers
(imported again, or inherited) is what differs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from benchmarks.engines import Engine
from benchmarks.workloads import Case, Sample, Workload, runner_label

MAX_WORKERS = 2


def _measure_in_child(engine: Engine, size: int) -> Sample:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    request = json.dumps({"engine": engine.name, "size": size, "max_workers": MAX_WORKERS})
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.workloads.heavy_imports_child", request],
        capture_output=True, text=True, env=env, check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"heavy-imports child ({engine.name}) failed:\n{done.stderr}")
    result: Sample = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    return [
        Case(
            workload="heavy-imports", label="node module with heavy imports, cold",
            policy=policy, size=size, nodes=size + 1,
            measure=lambda engine, size=size: _measure_in_child(engine, size),
            runner_label=runner_label(policy, max_workers=MAX_WORKERS),
        )
        for size in sizes for policy in policies
    ]


WORKLOAD = Workload(
    name="heavy-imports",
    summary="cold ParallelRunner(2) on nodes from a module importing pandas and more",
    default_sizes=(4,),
    tiny_sizes=(2,),
    default_policies=("parallel",),
    policies=("parallel",),
    cases=_cases,
)
