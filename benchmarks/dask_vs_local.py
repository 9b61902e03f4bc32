"""DaskRunner against the local policies: what going distributed costs per node, and what it
buys on CPU-bound work.

Two workloads:

- ``wide``: 8 independent nodes of ~0.25 s pure-Python CPU each, then one fan-in node. Threads
  cannot run them in parallel (the GIL); processes and Dask workers can.
- ``chain``: 200 trivial nodes, each reading the previous one's output. Nothing to gain from
  parallelism; the time is the per-node cost of the policy.

Each runner gets one warm-up run (pools and connections start), then ``--repeat`` timed runs;
the median is printed. Dask runs against a ``LocalCluster`` started once (its start-up time is
printed separately), and once more with a ``LocalCluster`` started and closed by every run, as
``DaskRunner()`` without an address does.

Run from the repository root::

    python -m benchmarks.dask_vs_local [--repeat 3] [--workers N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from pipeloop import (
    AbstractRunner,
    DataCatalog,
    MemoryDataset,
    ParallelRunner,
    Pipeline,
    SequentialRunner,
    ThreadRunner,
    node,
)

WIDTH = 8
CHAIN = 200
CPU_SECONDS = 0.25


def spin(iterations: int, seed: int) -> int:
    """Pure-Python CPU work: holds the GIL for the whole call."""
    total = seed
    for i in range(iterations):
        total = (total * 31 + i) % 1_000_003
    return total


def fan_in(*values: int) -> int:
    return sum(values)


def step(x: int) -> int:
    return x + 1


def calibrate(seconds: float) -> int:
    """Iterations of :func:`spin` that take about ``seconds`` here (the fastest of three
    measurements: the least disturbed by other load)."""
    iterations = 200_000
    while True:
        elapsed = min(_time_spin(iterations) for _ in range(3))
        if elapsed > 0.05:
            return int(iterations * seconds / elapsed)
        iterations *= 2


def _time_spin(iterations: int) -> float:
    start = time.perf_counter()
    spin(iterations, 0)
    return time.perf_counter() - start


def wide_pipeline() -> Pipeline:
    spins = [node(spin, ["params:iterations", f"params:seed{i}"], f"spun{i}", name=f"spin{i}")
             for i in range(WIDTH)]
    return Pipeline([*spins, node(fan_in, [f"spun{i}" for i in range(WIDTH)], "total",
                                  name="fan_in")])


def wide_catalog(iterations: int) -> DataCatalog:
    catalog = DataCatalog()
    catalog.add_parameters({"iterations": iterations,
                            **{f"seed{i}": i for i in range(WIDTH)}})
    return catalog


def chain_pipeline() -> Pipeline:
    return Pipeline([node(step, f"x{i}", f"x{i + 1}", name=f"step{i}") for i in range(CHAIN)])


def chain_catalog() -> DataCatalog:
    return DataCatalog({"x0": MemoryDataset(0)})


def timed(runner: AbstractRunner, pipeline: Pipeline, catalog: Callable[[], DataCatalog],
          repeat: int, warm_up: bool = True) -> tuple[float, dict[str, Any]]:
    if warm_up:
        runner.run_sync(pipeline, catalog())
    times = []
    outputs: dict[str, Any] = {}
    for _ in range(repeat):
        start = time.perf_counter()
        outputs = runner.run_sync(pipeline, catalog())
        times.append(time.perf_counter() - start)
    return statistics.median(times), outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per runner")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="processes for ParallelRunner, and Dask workers")
    args = parser.parse_args()

    import logging

    logging.getLogger("distributed").setLevel(logging.ERROR)
    from distributed import LocalCluster

    from pipeloop.engine.runners.dask import DaskRunner

    iterations = calibrate(CPU_SECONDS)
    print(f"{os.cpu_count()} CPUs; {args.workers} workers; median of {args.repeat} runs "
          f"after one warm-up; one spin node ~{CPU_SECONDS} s ({iterations:,} iterations)\n")

    start = time.perf_counter()
    processes = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                             dashboard_address=":0")
    processes_startup = time.perf_counter() - start
    start = time.perf_counter()
    threads = LocalCluster(n_workers=1, threads_per_worker=args.workers, processes=False,
                           dashboard_address=":0")
    threads_startup = time.perf_counter() - start
    print(f"LocalCluster start-up: processes {processes_startup:.2f} s, "
          f"threads {threads_startup:.2f} s (not in the figures below)\n")

    runners: list[tuple[str, AbstractRunner, bool]] = [
        ("SequentialRunner", SequentialRunner(), True),
        ("ThreadRunner", ThreadRunner(), True),
        (f"ParallelRunner({args.workers})", ParallelRunner(args.workers), True),
        (f"DaskRunner, {args.workers} worker processes",
         DaskRunner(processes.scheduler_address), True),
        (f"DaskRunner, {args.workers} worker threads",
         DaskRunner(threads.scheduler_address), True),
        ("DaskRunner(), a LocalCluster per run",
         DaskRunner(cluster_kwargs={"n_workers": args.workers, "threads_per_worker": 1,
                                    "dashboard_address": ":0"}), False),
    ]
    workloads = [
        (f"wide: {WIDTH} x {CPU_SECONDS} s CPU + fan-in", wide_pipeline(),
         lambda: wide_catalog(iterations), "total"),
        (f"chain: {CHAIN} trivial nodes", chain_pipeline(), chain_catalog, f"x{CHAIN}"),
    ]
    try:
        for title, pipeline, catalog, output in workloads:
            print(f"{title}")
            print(f"  {'runner':42} {'median':>9} {'per node':>10}")
            expected = None
            for label, runner, warm_up in runners:
                median, outputs = timed(runner, pipeline, catalog, args.repeat, warm_up)
                expected = outputs[output] if expected is None else expected
                assert outputs[output] == expected, (label, outputs[output], expected)
                per_node = median / len(pipeline.nodes) * 1000
                print(f"  {label:42} {median:8.3f}s {per_node:8.2f}ms")
            print()
    finally:
        threads.close()
        processes.close()


if __name__ == "__main__":
    main()
