"""The published targets, each checked against the measurements of this run.

A target applies at the size it was set for (the workloads' default sizes); at other sizes,
or when its runs were not selected, it is reported as not measured rather than guessed.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks.results import Measurement, find
from benchmarks.workloads import WARM, Sample

__all__ = ["Verdict", "evaluate", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``812 µs``, ``21.3 ms``, ``1.50 s``."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.3g} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    return f"{seconds:.3g} s"


@dataclass
class Verdict:
    """One target's outcome.

    Attributes:
        name: the row of the targets table ("chain 1,000, SequentialRunner").
        kedro_reference: Kedro 1.7.0 as measured when the target was set.
        target: the goal, in words.
        checks: ``(what, met)`` for each condition; the target is met when all are.
        measured: what this run measured, in words.
        kedro_here: Kedro's figure in this run, when compared.
        source: ``issue`` for the published targets, ``suite`` for the suite's own checks.
    """

    name: str
    kedro_reference: str
    target: str
    checks: list[tuple[str, bool]] = field(default_factory=list)
    measured: str = ""
    kedro_here: str = ""
    source: str = "issue"

    @property
    def met(self) -> bool | None:
        """``None`` when nothing could be checked (the runs were not part of this run)."""
        if not self.checks:
            return None
        return all(ok for _, ok in self.checks)

    @property
    def status(self) -> str:
        return {True: "MET", False: "MISSED", None: "not measured"}[self.met]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "target", "name": self.name, "target": self.target,
                "kedro_reference": self.kedro_reference, "measured": self.measured,
                "kedro_here": self.kedro_here, "met": self.met, "source": self.source,
                "checks": [{"check": what, "met": ok} for what, ok in self.checks]}


Rule = Callable[[list[Measurement]], Verdict]


def _ratio_to_kedro(measurements: list[Measurement], mine: Measurement) -> float | None:
    case = mine.case
    theirs = find(measurements, case.workload, engine="kedro", policy=case.policy,
                  size=case.size, label=case.label)
    if theirs is None:
        return None
    return (theirs.median() or 0.0) / (mine.median() or float("inf"))


def _kedro_here(measurements: list[Measurement], mine: Measurement | None,
                per_node: bool = False) -> str:
    if mine is None:
        return ""
    case = mine.case
    theirs = find(measurements, case.workload, engine="kedro", policy=case.policy,
                  size=case.size, label=case.label)
    if theirs is None or (median := theirs.median()) is None:
        return ""
    text = format_seconds(median)
    if per_node:
        text += f" ({format_seconds(median / case.nodes)}/node)"
    return text


def _chain(measurements: list[Measurement]) -> Verdict:
    verdict = Verdict("chain 1,000, SequentialRunner", "3.7 s (3.7 ms/node)",
                      "≥ 100x faster than Kedro (≤ 30 µs/node)")
    mine = find(measurements, "chain", policy="sequential", size=1_000)
    if mine is None or (median := mine.median()) is None:
        return verdict
    per_node = median / mine.case.nodes
    verdict.checks.append((f"{per_node * 1e6:.1f} µs/node ≤ 30 µs/node", per_node <= 30e-6))
    verdict.measured = f"{format_seconds(median)} ({per_node * 1e6:.1f} µs/node)"
    ratio = _ratio_to_kedro(measurements, mine)
    if ratio is not None:
        verdict.checks.append((f"{ratio:.0f}x faster than Kedro here ≥ 100x", ratio >= 100))
        verdict.measured += f", {ratio:.0f}x faster than Kedro"
    verdict.kedro_here = _kedro_here(measurements, mine, per_node=True)
    return verdict


def _linear(shape: str, metric: str, source: str) -> Rule:
    what = {"run_s": "run", "build_s": "construction"}[metric]

    def rule(measurements: list[Measurement]) -> Verdict:
        verdict = Verdict(
            f"scale: {shape} {what}, 1,000 → 100,000 nodes",
            "141 s at 5,000 (quadratic)" if (shape, metric) == ("chain", "run_s") else "",
            "linear: µs/node at 100,000 within 1.5x of µs/node at 1,000", source=source)
        small = find(measurements, "scale", policy="sequential", size=1_000, label=shape)
        large = find(measurements, "scale", policy="sequential", size=100_000, label=shape)
        if small is None or large is None:
            return verdict
        low = (small.median(metric) or 0.0) / small.case.nodes
        high = (large.median(metric) or 0.0) / large.case.nodes
        growth = high / low if low else float("inf")
        verdict.checks.append((f"{growth:.2f}x ≤ 1.5x", growth <= 1.5))
        verdict.measured = f"{low * 1e6:.1f} → {high * 1e6:.1f} µs/node ({growth:.2f}x)"
        theirs = find(measurements, "scale", engine="kedro", policy="sequential",
                      size=small.case.size, label=shape)
        if theirs is not None and (median := theirs.median(metric)) is not None:
            verdict.kedro_here = f"{median / small.case.nodes * 1e6:.0f} µs/node at 1,000"
        return verdict
    return rule


def _at_most(name: str, reference: str, limit: float, workload: str, policy: str,
             size: int, label: str | None = None) -> Rule:
    def rule(measurements: list[Measurement]) -> Verdict:
        verdict = Verdict(name, reference, f"≤ {format_seconds(limit)}")
        mine = find(measurements, workload, policy=policy, size=size, label=label)
        if mine is None or (median := mine.median()) is None:
            return verdict
        verdict.checks.append((f"{format_seconds(median)} ≤ {format_seconds(limit)}",
                               median <= limit))
        verdict.measured = format_seconds(median)
        ratio = _ratio_to_kedro(measurements, mine)
        if ratio is not None:
            verdict.measured += f", {ratio:.1f}x faster than Kedro"
        verdict.kedro_here = _kedro_here(measurements, mine)
        warm = find(measurements, workload, policy=policy, size=size,
                    label=f"{label or mine.case.label}, {WARM}")
        if warm is not None and (warm_median := warm.median()) is not None:
            verdict.measured += f" (pool warm: {format_seconds(warm_median)})"
        return verdict
    return rule


def _speedup(measurements: list[Measurement]) -> Verdict:
    verdict = Verdict("cpu 8 x 0.25 s, ParallelRunner", "1.3x over Sequential",
                      "≥ 1.8x over Sequential")
    sequential = find(measurements, "cpu", policy="sequential", size=8,
                      label="0.25 s of CPU per node")
    parallel = find(measurements, "cpu", policy="parallel", size=8,
                    label="0.25 s of CPU per node")
    if sequential is None or parallel is None:
        return verdict
    speedup = (sequential.median() or 0.0) / (parallel.median() or float("inf"))
    verdict.checks.append((f"{speedup:.2f}x ≥ 1.8x", speedup >= 1.8))
    verdict.measured = (f"{speedup:.2f}x ({format_seconds(sequential.median() or 0)} → "
                        f"{format_seconds(parallel.median() or 0)}) on "
                        f"{parallel.case.params.get('cpus')} CPUs")
    kedro_seq = find(measurements, "cpu", engine="kedro", policy="sequential", size=8,
                     label=sequential.case.label)
    kedro_par = find(measurements, "cpu", engine="kedro", policy="parallel", size=8,
                     label=parallel.case.label)
    warm = find(measurements, "cpu", policy="parallel", size=8,
                label=f"0.25 s of CPU per node, {WARM}")
    if warm is not None and (warm_median := warm.median()):
        verdict.measured += (f"; pool warm: {(sequential.median() or 0.0) / warm_median:.2f}x "
                             f"({format_seconds(warm_median)})")
    if kedro_seq is not None and kedro_par is not None:
        verdict.kedro_here = (f"{(kedro_seq.median() or 0) / (kedro_par.median() or 1):.2f}x "
                              f"({format_seconds(kedro_par.median() or 0)})")
    return verdict


def _released(policy: str) -> Rule:
    def rule(measurements: list[Measurement]) -> Verdict:
        verdict = Verdict(f"memory 50 x 20 MB, {policy}", "(no published target)",
                          "live data ≤ 5 objects, not 50 (intermediates released)",
                          source="suite")
        mine = find(measurements, "memory", policy=policy, size=50, label="20 MB per node")
        if mine is None or (traced := mine.median("peak_traced_mb")) is None:
            return verdict
        verdict.checks.append((f"{traced:.0f} MB ≤ 100 MB", traced <= 100))
        verdict.measured = (f"+{traced:.0f} MB traced, +{mine.median('peak_rss_mb') or 0:.0f} MB "
                            "RSS")
        theirs = find(measurements, "memory", engine="kedro", policy=policy, size=50,
                      label=mine.case.label)
        if theirs is not None:
            verdict.kedro_here = (f"+{theirs.median('peak_traced_mb') or 0:.0f} MB traced, "
                                  f"+{theirs.median('peak_rss_mb') or 0:.0f} MB RSS")
        return verdict
    return rule


def _paired_overhead(samples: list[Sample], metric: str, baseline: str) -> float:
    """The median over samples of ``metric / baseline - 1``: each ratio compares two runs
    made moments apart, which a machine's drift between samples does not move."""
    return statistics.median(sample[metric] / sample[baseline] - 1 for sample in samples
                             if sample.get(baseline) and metric in sample)


def _recording_overhead(measurements: list[Measurement]) -> Verdict:
    verdict = Verdict("fingerprint: provenance recording, 1,000 in-memory nodes",
                      "(Kedro records none)", "≤ 5% over the same run unrecorded")
    mine = find(measurements, "fingerprint", policy="sequential", size=1_000)
    if mine is None:
        return verdict
    base, recorded = mine.median("baseline_s"), mine.median("run_s")
    if not base or recorded is None:
        return verdict
    overhead = _paired_overhead(mine.samples, "run_s", "baseline_s")
    verdict.checks.append((f"{overhead:+.1%} ≤ +5%", overhead <= 0.05))
    verdict.measured = f"{overhead:+.1%} ({format_seconds(base)} → {format_seconds(recorded)})"
    for metric, what in (("given_s", "fingerprints given"), ("cold_s", "store opened for it")):
        if mine.median(metric) is not None:
            verdict.measured += (f"; {what}: "
                                 f"{_paired_overhead(mine.samples, metric, 'baseline_s'):+.1%}")
    return verdict
    overhead = _paired_overhead(mine.samples, "run_s", "baseline_s")
    given_overhead = _paired_overhead(mine.samples, "given_s", "baseline_s")
    verdict.checks.append((f"{overhead:+.1%} ≤ +5%", overhead <= 0.05))
    verdict.measured = (f"{overhead:+.1%} ({format_seconds(base)} → "
                        f"{format_seconds(recorded)}); fingerprints given: "
                        f"{given_overhead:+.1%}")
    return verdict


def _big_data(measurements: list[Measurement]) -> Verdict:
    verdict = Verdict("big-data 4 x 150 MB Parquet, ParallelRunner(max_workers=2)",
                      "(new: Kedro's workers load and save their files too)",
                      "≥ 1.25x faster than Kedro's ParallelRunner(2), ≥ 1.6x faster than "
                      "Sequential, peak memory ≤ Kedro's")
    parallel = find(measurements, "big-data", policy="parallel", size=4)
    if parallel is None or (median := parallel.median()) is None:
        return verdict
    verdict.measured = format_seconds(median)
    kedro = find(measurements, "big-data", engine="kedro", policy="parallel", size=4,
                 label=parallel.case.label)
    if kedro is not None and (theirs := kedro.median()) is not None:
        ratio = theirs / median
        verdict.checks.append((f"{ratio:.2f}x faster than Kedro ≥ 1.25x", ratio >= 1.25))
        verdict.measured += f", {ratio:.2f}x faster than Kedro"
        mine_mb = parallel.median("peak_pss_mb") or 0.0
        theirs_mb = kedro.median("peak_pss_mb") or 0.0
        verdict.checks.append((f"peak {mine_mb:.0f} MB ≤ Kedro's {theirs_mb:.0f} MB",
                               mine_mb <= theirs_mb))
        verdict.measured += f", peak {mine_mb:.0f} MB"
        verdict.kedro_here = f"{format_seconds(theirs)}, peak {theirs_mb:.0f} MB"
    sequential = find(measurements, "big-data", policy="sequential", size=4,
                      label=parallel.case.label)
    if sequential is not None and (seq := sequential.median()) is not None:
        speedup = seq / median
        verdict.checks.append((f"{speedup:.2f}x over Sequential ≥ 1.6x", speedup >= 1.6))
        verdict.measured += f", {speedup:.2f}x over Sequential ({format_seconds(seq)})"
    return verdict


def _heavy_imports(measurements: list[Measurement]) -> Verdict:
    verdict = Verdict("heavy-imports, cold ParallelRunner(max_workers=2)",
                      "(new: Kedro forks workers with the modules imported)",
                      "no slower than Kedro's ParallelRunner(2)")
    mine = find(measurements, "heavy-imports", policy="parallel", size=4)
    if mine is None or (median := mine.median()) is None:
        return verdict
    verdict.measured = format_seconds(median)
    ratio = _ratio_to_kedro(measurements, mine)
    if ratio is not None:
        verdict.checks.append((f"{ratio:.2f}x Kedro's speed ≥ 1x", ratio >= 1.0))
        verdict.measured += f", {ratio:.2f}x faster than Kedro"
    verdict.kedro_here = _kedro_here(measurements, mine)
    return verdict


RULES: list[Rule] = [
    _chain,
    _linear("chain", "run_s", "issue"),
    _linear("fan", "run_s", "suite"),
    _linear("chain", "build_s", "suite"),
    _linear("fan", "build_s", "suite"),
    _at_most("wide-io 200 x 10 ms, ThreadRunner(max_workers=200)", "0.88 s", 0.05,
             "wide-io", "thread", 200, "sync nodes (time.sleep)"),
    _at_most("wide-io 200 x 10 ms, async nodes, ThreadRunner", "(Kedro cannot)", 0.03,
             "wide-io", "thread", 200, "async nodes (asyncio.sleep)"),
    _speedup,
    _at_most("parallel-startup, ParallelRunner, 9 trivial nodes", "0.49 s", 0.15,
             "parallel-startup", "parallel", 9, "trivial nodes"),
    *[
        _at_most(f"slow-io 8 in + 8 out x 50 ms, {policy}",
                 {"sequential": "0.21 s (is_async=True)", "thread": "0.81 s",
                  "parallel": "—"}[policy],
                 0.12, "slow-io", policy, 8, "8 in + 8 out x 50 ms")
        for policy in ("sequential", "thread", "parallel")
    ],
    *[_released(policy) for policy in ("sequential", "thread", "parallel")],
    _recording_overhead,
    _big_data,
    _heavy_imports,
]


def evaluate(measurements: list[Measurement]) -> list[Verdict]:
    """Every target, checked against ``measurements``."""
    return [rule(measurements) for rule in RULES]
