"""The workloads: what each one builds, on which policies, at which sizes, and how it is timed.

A workload turns sizes and policies into :class:`Case` objects; the runner in
:mod:`benchmarks.run` measures each case on every engine, alternating engines run by run.
A case's ``measure`` returns one :class:`Sample`: named metrics of one run (``run_s`` always;
``build_s`` where construction is timed; ``peak_rss_mb`` for ``memory``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from benchmarks.engines import Engine, NodeSpec

__all__ = ["KEDRO_NOT_WARM", "WARM", "WORKLOADS", "Case", "Sample", "Workload", "timed_run"]

#: Appended to a case's label when only a second run on a warm pool is timed.
WARM = "pool warm"
KEDRO_NOT_WARM = ("Kedro makes its pool inside each run: there is no warm pool to reuse "
                  "between runs")

Sample = dict[str, float]
"""One run's metrics by name: ``run_s`` (seconds), ``build_s``, ``peak_rss_mb``..."""


@dataclass(frozen=True)
class Case:
    """One thing to measure: a workload's pipeline at one size under one policy.

    Attributes:
        workload: the workload's name.
        label: what distinguishes this case inside its workload ("chain", "async nodes").
        policy: ``sequential``, ``thread`` or ``parallel``.
        size: the workload's size (nodes, inputs...), as the CLI's ``--size`` sets it.
        nodes: how many nodes the pipeline has (for per-node figures).
        measure: runs the case once on an engine and returns its metrics.
        metrics: the metrics ``measure`` returns, the first one the headline.
        params: what else defines the case (delays, work per node), for the JSON record.
        skip: engine name -> why this case is not run on that engine.
        runner_label: how the table names the runner ("ThreadRunner(max_workers=200)").
        notes: engine name -> how that engine's run differs from the label, if it does.
    """

    workload: str
    label: str
    policy: str
    size: int
    nodes: int
    measure: Callable[[Engine], Sample]
    metrics: tuple[str, ...] = ("run_s",)
    params: Mapping[str, Any] = field(default_factory=dict)
    skip: Mapping[str, str] = field(default_factory=dict)
    runner_label: str = ""
    notes: Mapping[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.workload, self.label, self.policy, self.size)


@dataclass(frozen=True)
class Workload:
    """A named family of cases.

    Attributes:
        name: what ``--workload`` selects.
        summary: one line on what it measures.
        default_sizes: sizes run when ``--size`` is not given.
        tiny_sizes: sizes for ``--size tiny`` (the smoke test), with ``tiny=True`` passed on
            so per-node work shrinks too.
        default_policies: policies run unless ``--runner`` says otherwise.
        policies: every policy the workload can run.
        cases: ``(sizes, policies, tiny) -> cases``.
    """

    name: str
    summary: str
    default_sizes: tuple[int, ...]
    tiny_sizes: tuple[int, ...]
    default_policies: tuple[str, ...]
    policies: tuple[str, ...]
    cases: Callable[[Sequence[int], Sequence[str], bool], list[Case]]


RUNNER_CLASS = {"sequential": "SequentialRunner", "thread": "ThreadRunner",
                "parallel": "ParallelRunner"}


def runner_label(policy: str, **options: Any) -> str:
    """``ThreadRunner(max_workers=200)``: the runner as a user would construct it."""
    args = ", ".join(f"{key}={value!r}" for key, value in options.items() if value is not None)
    return f"{RUNNER_CLASS[policy]}({args})"


def timed_run(
    engine: Engine,
    nodes: Sequence[NodeSpec],
    policy: str,
    *,
    data: Mapping[str, Any] | None = None,
    datasets: Callable[[Engine], Mapping[str, Any]] | None = None,
    max_workers: int | None = None,
    is_async: bool | None = None,
    warm: bool = False,
) -> Sample:
    """Build the pipeline and catalog (untimed), then time making the runner and the run.

    Pipeline construction is timed too, and returned as ``build_s``; most workloads report
    only ``run_s``. With ``warm`` (pipeloop only), the same runner first runs an identical
    pipeline on the same event loop, and only the second run is timed: what a long-lived
    async app pays once its thread or process pool is up.
    """
    if warm:
        def fresh() -> tuple[Any, Any]:
            return (engine.pipeline(nodes),
                    engine.catalog(data or {}, datasets(engine) if datasets else {}, policy))
        first, second = fresh(), fresh()
        gc.collect()
        return {"run_s": engine.run_warm(first, second, policy, max_workers=max_workers,
                                         is_async=is_async)}
    gc.collect()
    start = time.perf_counter()
    pipeline = engine.pipeline(nodes)
    built = time.perf_counter()
    catalog = engine.catalog(data or {}, datasets(engine) if datasets else {}, policy)
    gc.collect()
    begin = time.perf_counter()
    engine.run(pipeline, catalog, policy, max_workers=max_workers, is_async=is_async)
    end = time.perf_counter()
    return {"run_s": end - begin, "build_s": built - start}


def _registry() -> dict[str, Workload]:
    from benchmarks.workloads import (
        big_data,
        chain,
        cpu,
        fingerprint,
        heavy_imports,
        memory,
        parallel_startup,
        scale,
        slow_io,
        wide_io,
    )

    workloads = [chain.WORKLOAD, scale.WORKLOAD, wide_io.WORKLOAD, cpu.WORKLOAD,
                 parallel_startup.WORKLOAD, slow_io.WORKLOAD, memory.WORKLOAD,
                 fingerprint.WORKLOAD, big_data.WORKLOAD, heavy_imports.WORKLOAD]
    return {workload.name: workload for workload in workloads}


WORKLOADS: dict[str, Workload] = _registry()
