"""``--plot``: grouped bars of median time per workload, case and runner, one panel per
workload, one colour per engine; log scale where a panel's values span more than 20x."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window

import matplotlib.pyplot as plt

from benchmarks.results import Measurement

__all__ = ["plot"]

COLOURS = {"pipeloop": "#1f77b4", "kedro": "#ff7f0e"}
SHORT = {"SequentialRunner": "Seq", "ThreadRunner": "Thread", "ParallelRunner": "Parallel"}


def _short_runner(label: str) -> str:
    name, _, args = label.partition("(")
    args = args.rstrip(")")
    return SHORT.get(name, name) + (f"({args})" if args else "")


def _panels(measurements: list[Measurement]) -> dict[str, list[tuple[str, dict[str, float]]]]:
    """workload -> [(group label, {engine: median})], in the order they were measured."""
    panels: dict[str, dict[str, dict[str, float]]] = {}
    sizes: dict[str, set[int]] = {}
    for item in measurements:
        sizes.setdefault(item.case.workload, set()).add(item.case.size)
    for item in measurements:
        case = item.case
        metrics = ["peak_traced_mb", "peak_rss_mb", "workers_peak_rss_mb"] if (
            case.workload == "memory") else [
            metric for metric in case.metrics if metric.endswith("_s")]
        for metric in metrics:
            median = item.median(metric)
            if median is None or (metric == "workers_peak_rss_mb" and case.policy != "parallel"):
                continue
            parts = [case.label] if case.label != case.workload else []
            if len(sizes[case.workload]) > 1:
                parts.append(f"{case.size:,}")
            if case.workload == "scale":
                parts.append("build" if metric == "build_s" else "run")
            if case.workload == "memory":
                parts.append({"peak_traced_mb": "traced", "peak_rss_mb": "RSS"}.get(
                    metric, "workers RSS"))
            parts.append(_short_runner(case.runner_label))
            group = "\n".join(parts)
            panels.setdefault(case.workload, {}).setdefault(group, {})[item.engine] = median
    return {name: list(groups.items()) for name, groups in panels.items()}


def plot(measurements: list[Measurement], path: str | Path, *, title: str = "") -> None:
    """Draw the comparison to ``path`` (the format follows the suffix: .svg, .png...)."""
    panels = _panels(measurements)
    engines = [name for name in COLOURS if any(m.engine == name and m.samples
                                                for m in measurements)]
    columns = 2 if len(panels) > 1 else 1
    rows = (len(panels) + columns - 1) // columns
    widest = max((len(groups) for groups in panels.values()), default=1)
    figure, axes = plt.subplots(rows, columns, squeeze=False,
                                figsize=(max(7.0, 1.1 * widest) * columns, 3.6 * rows))
    for axis in axes.flat[len(panels):]:
        axis.set_visible(False)
    for axis, (workload, groups) in zip(axes.flat, panels.items(), strict=False):
        width = min(0.8 / max(len(engines), 1), 0.3)
        values = [v for _, medians in groups for v in medians.values() if v > 0]
        for offset, engine in enumerate(engines):
            xs, heights = [], []
            for x, (_, medians) in enumerate(groups):
                if engine in medians:
                    xs.append(x + width * (offset + 0.5 - len(engines) / 2))
                    heights.append(medians[engine])
                elif len(engines) > 1:  # say so rather than leave a silent gap
                    axis.annotate(f"{engine}: n/a", (x + width * (offset + 0.5 - len(engines) / 2),
                                                     0), xycoords=("data", "axes fraction"),
                                  xytext=(0, 3), textcoords="offset points", ha="center",
                                  fontsize=6, color="grey", rotation=90, va="bottom")
            bars = axis.bar(xs, heights, width, label=engine, color=COLOURS[engine])
            unit = "MB" if workload == "memory" else "s"
            axis.bar_label(bars, labels=[_label(h, unit) for h in heights], fontsize=7,
                           padding=1)
        if values and max(values) / min(values) > 20:
            axis.set_yscale("log")
        axis.set_xticks(range(len(groups)), [label for label, _ in groups], fontsize=7)
        axis.set_xlim(-0.6, max(len(groups), 2) - 0.4)
        axis.set_ylabel("peak MB (above baseline)" if workload == "memory"
                        else "median seconds")
        axis.set_title(workload, fontsize=10, loc="left")
        axis.margins(y=0.15)
        axis.legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def _label(value: float, unit: str) -> str:
    if unit == "MB":
        return f"{value:.0f}"
    if value < 1e-3:
        return f"{value * 1e6:.0f}µs"
    if value < 1:
        return f"{value * 1e3:.3g}ms"
    return f"{value:.3g}s"
