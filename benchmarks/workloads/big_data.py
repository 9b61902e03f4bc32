"""``big-data``: four branches each loading a ~150 MB pandas frame from Parquet, ~0.5 s of CPU
work on it, saving the result to Parquet, then a small fan-in.

What data locality is worth: Kedro's ParallelRunner workers load and save their file
datasets themselves; so do pipeloop's (the frames never cross to the parent), while
pipeloop's SequentialRunner does all the work in one process. Every run happens in a fresh
child process (``python -m benchmarks.workloads.big_data_child``), cold, and the peak
memory is the largest *proportional* set size (PSS) of that child and all its descendants
together, sampled from outside it: PSS splits pages that forked processes share, so a
forked worker is not counted twice for the parent's pages.

The Parquet files are written once per invocation, before any timing, in a temporary folder.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path

from benchmarks.engines import Engine
from benchmarks.workloads import Case, Sample, Workload, runner_label
from benchmarks.workloads.cpu import iterations_for
from benchmarks.workloads.memory_child import descendants

BRANCHES = 4
COLUMNS = 10
ROWS = 1_900_000  # 10 float64 columns: ~150 MB in memory
TINY_ROWS = 20_000
SECONDS_OF_WORK = 0.5
TINY_SECONDS_OF_WORK = 0.01
MAX_WORKERS = 2
SAMPLE_EVERY = 0.01
MB = 1 << 20


@functools.cache
def input_folder(rows: int, branches: int) -> Path:
    """A folder holding ``branches`` Parquet files of ``rows`` rows (written once)."""
    import numpy as np
    import pandas as pd

    folder = Path(tempfile.mkdtemp(prefix="pipeloop-big-data-"))
    atexit.register(shutil.rmtree, folder, True)
    rng = np.random.default_rng(14)
    for branch in range(branches):
        frame = pd.DataFrame(rng.random((rows, COLUMNS)),
                             columns=[f"c{i}" for i in range(COLUMNS)])
        frame.to_parquet(folder / f"in{branch}.parquet")
    return folder


def _pss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _measure_in_child(engine: Engine, policy: str, branches: int, rows: int,
                      seconds: float) -> Sample:
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [root, *filter(None, [os.environ.get("PYTHONPATH")])])}
    folder = input_folder(rows, branches)
    request = json.dumps({"engine": engine.name, "policy": policy, "folder": str(folder),
                          "branches": branches,
                          "iterations": iterations_for(seconds), "max_workers": MAX_WORKERS})
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.workloads.big_data_child", request],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    peak = 0.0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.wait(SAMPLE_EVERY):
            peak = max(peak, sum(_pss_mb(pid) for pid in _process_tree(child.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = child.communicate()
    stop.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(f"big-data child ({engine.name}, {policy}) failed:\n{err}")
    result: Sample = json.loads(out.strip().splitlines()[-1])
    result["peak_pss_mb"] = peak
    return result


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    seconds = TINY_SECONDS_OF_WORK if tiny else SECONDS_OF_WORK
    cases = []
    for size in sizes:
        rows = TINY_ROWS if tiny else ROWS
        label = f"{rows * COLUMNS * 8 / MB:.0f} MB frames, {seconds:g} s of CPU each"
        for policy in policies:
            workers = MAX_WORKERS if policy != "sequential" else None
            cases.append(Case(
                workload="big-data", label=label, policy=policy, size=size,
                nodes=2 * size + 1,
                measure=lambda engine, policy=policy, size=size, rows=rows: _measure_in_child(
                    engine, policy, size, rows, seconds),
                metrics=("run_s", "peak_pss_mb"),
                params={"rows": rows, "columns": COLUMNS, "seconds_of_work": seconds},
                skip={"kedro": "not part of the comparison (pipeloop's ParallelRunner vs "
                               "its SequentialRunner)"} if policy == "sequential" else {},
                runner_label=runner_label(policy, max_workers=workers),
            ))
    return cases


WORKLOAD = Workload(
    name="big-data",
    summary="4 branches: load a ~150 MB frame from Parquet, ~0.5 s of CPU, save it; fan-in",
    default_sizes=(BRANCHES,),
    tiny_sizes=(2,),
    default_policies=("sequential", "parallel"),
    policies=("sequential", "thread", "parallel"),
    cases=_cases,
)


def _process_tree(pid: int) -> list[int]:
    return [pid, *descendants(pid)]
