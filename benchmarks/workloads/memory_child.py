"""One ``memory`` run in a fresh process: ``python -m benchmarks.workloads.memory_child JSON``.

Prints one JSON object: ``run_s``, ``peak_rss_mb`` (this process's peak RSS above its RSS just
before the run) and ``workers_peak_rss_mb`` (the largest total RSS of its descendant
processes, sampled every few milliseconds during the run).

This process's peak is read from ``VmHWM`` after resetting it (Linux), not from
``getrusage``: Linux carries a parent's rusage high-water mark over ``exec``, so a child of a
large benchmark process would report the parent's size. Elsewhere ``ru_maxrss`` is used.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import sys
import threading
import time
import tracemalloc

from benchmarks.engines import engine_named
from benchmarks.workloads import Sample
from benchmarks.workloads.memory import MB, memory_nodes

SAMPLE_EVERY = 0.005


def _status_mb(pid: int | str, field: str) -> float | None:
    """``VmRSS``/``VmHWM`` of a process from /proc (Linux), in MB."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _reset_peak() -> None:
    """Reset this process's ``VmHWM`` to its current RSS, where Linux allows."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        pass


def _rusage_mb() -> float:
    divisor = 1 << 20 if sys.platform == "darwin" else 1 << 10  # bytes on macOS, else KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / divisor


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (workers, and what they started), from ``/proc``."""
    found, stack = [], [pid]
    while stack:
        parent = stack.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as children:
                    kids = [int(kid) for kid in children.read().split()]
            except OSError:
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


class _WorkerSampler(threading.Thread):
    """Samples the total RSS of this process's descendants until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(SAMPLE_EVERY):
            total = sum(_status_mb(pid, "VmRSS") or 0.0 for pid in descendants(os.getpid()))
            self.peak = max(self.peak, total)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak


def measure(engine_name: str, size: int, policy: str, object_mb: int, *,
            traced: bool = False) -> Sample:
    logging.disable(logging.INFO)
    engine = engine_named(engine_name)
    first = b"x" * (object_mb * MB)
    pipeline = engine.pipeline(memory_nodes(size))
    catalog = engine.catalog({"b0": first}, {}, policy)
    if traced:
        tracemalloc.start()
    _reset_peak()
    baseline = _status_mb("self", "VmRSS") or _rusage_mb()
    traced_baseline = tracemalloc.get_traced_memory()[0]
    sampler = _WorkerSampler()
    sampler.start()
    start = time.perf_counter()
    engine.run(pipeline, catalog, policy)
    elapsed = time.perf_counter() - start
    workers = sampler.stop()
    peak = _status_mb("self", "VmHWM") or _rusage_mb()
    sample = {"run_s": elapsed, "peak_rss_mb": peak - baseline,
              "workers_peak_rss_mb": workers, "baseline_rss_mb": baseline}
    if traced:
        sample["peak_traced_mb"] = (tracemalloc.get_traced_memory()[1] - traced_baseline) / MB
        tracemalloc.stop()
    return sample


if __name__ == "__main__":
    request = json.loads(sys.argv[1])
    print(json.dumps(measure(request["engine"], int(request["size"]), request["policy"],
                             int(request["object_mb"]), traced=bool(request.get("traced")))))
