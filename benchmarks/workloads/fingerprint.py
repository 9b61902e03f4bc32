"""``fingerprint``: what recording provenance costs a run of N trivial in-memory nodes.

The pipeline is the ``chain`` workload fed by a parameter (so every node has a known
fingerprint). Each sample runs it three ways on the same machine moment, in rotating order:
without recording (``baseline_s``); with a ``ProvenanceRecorder`` that fingerprints every
node when the run starts and writes one row per node to the SQLite store (``run_s``, what a
recorded ``pipeline run`` pays); and with the fingerprints handed over from a staleness check
made before the run (``given_s``, what a ``--changed`` run pays on top of that check). The
store is made before timing, as a project's store is there after its first run.

pipeloop only: Kedro records no provenance.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anyio

from benchmarks.workloads import Case, Sample, Workload, runner_label
from benchmarks.workloads.funcs import inc

METRICS = ("run_s", "baseline_s", "given_s")


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


def measure_overhead(size: int, store_folder: Path, round_: list[int]) -> Sample:
    """One sample: the three runs, in an order that rotates between samples."""
    import pipeloop
    from pipeloop.engine.fingerprint import fingerprint_pipeline
    from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore

    store = ProvenanceStore(store_folder / "provenance.db")
    given = anyio.run(fingerprint_pipeline, _pipeline(size), _catalog())
    hooks: dict[str, Callable[[], list[object]]] = {
        "baseline_s": lambda: [],
        "run_s": lambda: [ProvenanceRecorder(store)],
        "given_s": lambda: [ProvenanceRecorder(store, fingerprints=given)],
    }
    order = list(METRICS)
    shift = round_[0] % len(order)
    round_[0] += 1
    sample: Sample = {}
    for metric in order[shift:] + order[:shift]:
        pipeline, catalog, made = _pipeline(size), _catalog(), hooks[metric]()
        start = time.perf_counter()
        pipeloop.SequentialRunner().run_sync(pipeline, catalog, hooks=made)
        sample[metric] = time.perf_counter() - start
    return sample


def _cases(sizes: Sequence[int], policies: Sequence[str], tiny: bool) -> list[Case]:
    folder = Path(tempfile.mkdtemp(prefix="pipeloop-fingerprint-bench-"))
    cases = []
    for size in sizes:
        round_ = [0]
        previous = logging.root.manager.disable
        logging.disable(logging.INFO)
        try:
            measure_overhead(size, folder, round_)  # makes the store, as after a first run
        finally:
            logging.disable(previous)
        cases.append(Case(
            workload="fingerprint", label="in-memory chain, recording vs not",
            policy="sequential", size=size, nodes=size,
            measure=lambda engine, size=size, round_=round_: measure_overhead(
                size, folder, round_),
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
