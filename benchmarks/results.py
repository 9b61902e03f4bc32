"""What a benchmark run produces: measurements (one case on one engine, several runs) and
their statistics."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from benchmarks.workloads import Case, Sample

__all__ = ["Measurement", "Stats", "find"]


@dataclass(frozen=True)
class Stats:
    """Median, min and max of one metric over the timed runs."""

    median: float
    min: float
    max: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, values: list[float]) -> Stats:
        return cls(statistics.median(values), min(values), max(values), tuple(values))


@dataclass
class Measurement:
    """One case on one engine: every timed run's sample, or why it was skipped."""

    case: Case
    engine: str
    engine_version: str
    samples: list[Sample] = field(default_factory=list)
    skipped: str | None = None

    def stats(self, metric: str = "run_s") -> Stats | None:
        values = [sample[metric] for sample in self.samples if metric in sample]
        return Stats.of(values) if values else None

    def median(self, metric: str = "run_s") -> float | None:
        stats = self.stats(metric)
        return None if stats is None else stats.median

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``--json`` prints for this measurement."""
        case = self.case
        record: dict[str, Any] = {
            "kind": "measurement",
            "workload": case.workload,
            "case": case.label,
            "runner": case.runner_label,
            "policy": case.policy,
            "size": case.size,
            "nodes": case.nodes,
            "engine": self.engine,
            "engine_version": self.engine_version,
            "params": dict(case.params),
            "skipped": self.skipped,
            "repeat": len(self.samples),
        }
        run = self.stats("run_s")
        if run is not None:
            record.update(median_s=run.median, min_s=run.min, max_s=run.max,
                          us_per_node=run.median / max(case.nodes, 1) * 1e6)
        record["metrics"] = {
            metric: {"median": stats.median, "min": stats.min, "max": stats.max,
                     "samples": list(stats.samples)}
            for metric in case.metrics if (stats := self.stats(metric)) is not None
        }
        return record


def find(
    measurements: list[Measurement], workload: str, *, engine: str = "pipeloop",
    policy: str | None = None, size: int | None = None, label: str | None = None,
) -> Measurement | None:
    """The first measured (not skipped) measurement matching every given field."""
    for item in measurements:
        case = item.case
        if (case.workload == workload and item.engine == engine and not item.skipped
                and item.samples
                and (policy is None or case.policy == policy)
                and (size is None or case.size == size)
                and (label is None or case.label == label)):
            return item
    return None
