"""``fingerprint``: what recording provenance costs a run of N trivial in-memory nodes.

The pipeline is the ``chain`` workload fed by a parameter (so every node has a known
fingerprint). Each sample runs it four ways on the same machine moment, in rotating order:

- ``baseline_s``: without recording;
- ``run_s``: with a ``ProvenanceRecorder`` on a store the app keeps open across runs, which
  fingerprints every node when the run starts and records them when it ends (what an app
  that holds a ``ProvenanceStore`` pays per run; the target is on this one);
- ``given_s``: the same, with the fingerprints handed over from a staleness check made
  before the run (what a ``--changed`` run pays on top of that check);
- ``cold_s``: with a store opened for this run only, as ``Project.run`` and each
  ``pipeloop run`` process do: on top of ``run_s``, opening the database, reading its node
  records and the event loop's first worker thread.

The database exists before timing, as a project's is after its first run. The target
compares the runs of each sample (the median of the per-sample ratios), so that a machine
that slows down between samples does not count as overhead.

pipeloop only: Kedro records no provenance.
"""

from __future__ import annotations

import gc
import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from benchmarks.workloads import Case, Sample, Workload, runner_label
from benchmarks.workloads.funcs import inc

METRICS = ("run_s", "baseline_s", "given_s", "cold_s")


def _pipeline(size: int) -> Any:
    import pipeloop

    return pipeloop.Pipeline(
        [pipeloop.node(inc, "params:seed" if i == 0 else f"d{i}", f"d{i + 1}", name=f"n{i}")
         for i in range(size)])


def _catalog() -> Any:
    import pipeloop

    catalog = pipeloop.DataCatalog()
    catalog.add_parameters({"seed": 0})
    return catalog


def measure_overhead(size: int, store: Any, given: Any, round_: list[int]) -> Sample:
    """One sample: the four runs, in an order that rotates between samples."""
    import pipeloop
    from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore

    hooks: dict[str, Callable[[], list[object]]] = {
        "baseline_s": lambda: [],
        "run_s": lambda: [ProvenanceRecorder(store)],
        "given_s": lambda: [ProvenanceRecorder(store, fingerprints=given)],
        "cold_s": lambda: [ProvenanceRecorder(ProvenanceStore(store.path))],
    }
    order = list(METRICS)
    shift = round_[0] % len(order)
    round_[0] += 1
    sample: Sample = {}
    for metric in order[shift:] + order[:shift]:
        pipeline, catalog, made = _pipeline(size), _catalog(), hooks[metric]()
        gc.collect()  # no run pays for the garbage of the one before
        start = time.perf_counter()
        pipeloop.SequentialRunner().run_sync(pipeline, catalog, hooks=made)
        sample[metric] = time.perf_counter() - start
        if metric == "cold_s":  # closed after its run, untimed
            made[0].store.close()  # type: ignore[attr-defined]
    return sample


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    from pipeloop.engine.fingerprint import fingerprint_pipeline
    from pipeloop.engine.provenance import ProvenanceStore

    folder = Path(tempfile.mkdtemp(prefix="pipeloop-fingerprint-bench-"))
    cases = []
    for size in sizes:
        round_ = [0]
        store = ProvenanceStore(folder / f"provenance-{size}.db")
        given = anyio.run(fingerprint_pipeline, _pipeline(size), _catalog())
        previous = logging.root.manager.disable
        logging.disable(logging.INFO)
        try:  # the store's first run, as a project's is there after its first run
            measure_overhead(size, store, given, round_)
        finally:
            logging.disable(previous)
        cases.append(Case(
            workload="fingerprint", label="in-memory chain, recording vs not",
            policy="sequential", size=size, nodes=size,
            measure=lambda engine, size=size, store=store, given=given, round_=round_: (
                measure_overhead(size, store, given, round_)),
            metrics=METRICS, runner_label=runner_label("sequential"),
            skip={"kedro": "pipeloop only: Kedro records no provenance"},
            params={"store": "SQLite in a temporary folder"},
        ))
    return [case for case in cases if case.policy in policies]


WORKLOAD = Workload(
    name="fingerprint",
    summary="1,000 trivial in-memory nodes with and without provenance recording",
    default_sizes=(1_000,),
    tiny_sizes=(5,),
    default_policies=("sequential",),
    policies=("sequential",),
    cases=_cases,
)
