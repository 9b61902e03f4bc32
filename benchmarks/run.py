"""Run the benchmark suite: ``python -m benchmarks`` (or ``python benchmarks/run.py``).

Every selected case runs ``--warmup`` untimed times and then ``--repeat`` timed times on each
engine; with ``--compare-kedro`` pipeloop and Kedro take turns run by run (and swap who goes
first each round) so that machine drift hits both alike. The table reports the median, min
and max of the timed runs and Kedro's time over pipeloop's; the targets table says which
published target each figure meets. ``--json`` prints one JSON object per line instead (the
table then goes to stderr).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

if not __package__:  # run as a script: make the ``benchmarks`` package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.engines import POLICIES, Engine, available_engines, kedro_missing_reason
from benchmarks.results import Measurement
from benchmarks.targets import Verdict, evaluate, format_seconds
from benchmarks.workloads import WORKLOADS, Case, Workload

__all__ = ["main"]

DEFAULT_REPEAT = 5
DEFAULT_WARMUP = 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare pipeloop's runner policies on the same pipelines, and pipeloop "
                    "with Kedro in the same run (--compare-kedro).",
        epilog="Workloads: " + "; ".join(f"{w.name}: {w.summary}" for w in WORKLOADS.values()),
    )
    parser.add_argument(
        "--workload", action="append", metavar="NAME",
        help=f"workload(s) to run, repeatable or comma-separated: {', '.join(WORKLOADS)} "
             "(default: all)")
    parser.add_argument(
        "--runner", action="append", metavar="POLICY",
        help=f"runner policies, repeatable or comma-separated: {', '.join(POLICIES)}, or "
             "'all' (default: each workload's own selection)")
    parser.add_argument(
        "--size", default="default", metavar="N[,N...]|tiny|default",
        help="sizes for every selected workload (nodes, or inputs for slow-io); 'tiny' runs "
             "each workload small and fast, shrinking per-node work too")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"timed runs per case and engine (default {DEFAULT_REPEAT})")
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help=f"untimed runs first (default {DEFAULT_WARMUP})")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON object per measurement and target on stdout "
                             "(the table goes to stderr)")
    parser.add_argument("--compare-kedro", action="store_true",
                        help="run the same cases on Kedro too (pip install -e '.[bench]')")
    parser.add_argument("--plot", metavar="FILE.svg|FILE.png",
                        help="draw the comparison to FILE (needs matplotlib)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def _split(values: list[str] | None) -> list[str]:
    return [item.strip() for value in values or [] for item in value.split(",") if item.strip()]


def _select_workloads(names: list[str], parser: argparse.ArgumentParser) -> list[Workload]:
    unknown = [name for name in names if name not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}; choose from "
                     f"{', '.join(WORKLOADS)}")
    return [WORKLOADS[name] for name in names] if names else list(WORKLOADS.values())


def _parse_sizes(text: str, parser: argparse.ArgumentParser) -> tuple[str, tuple[int, ...]]:
    if text in ("tiny", "default"):
        return text, ()
    try:
        sizes = tuple(int(item.replace("_", "")) for item in text.split(","))
    except ValueError:
        parser.error(f"--size takes 'tiny', 'default' or sizes like 1000,10000, not {text!r}")
    if any(size < 1 for size in sizes):
        parser.error("--size: sizes must be positive")
    return "custom", sizes


def _cases(workloads: list[Workload], runners: list[str], preset: str,
           sizes: tuple[int, ...]) -> list[Case]:
    cases: list[Case] = []
    for workload in workloads:
        if "all" in runners:
            policies = list(workload.policies)
        elif runners:
            policies = [policy for policy in runners if policy in workload.policies]
        else:
            policies = list(workload.default_policies)
        chosen = {"tiny": workload.tiny_sizes, "default": workload.default_sizes}.get(
            preset, sizes)
        cases.extend(workload.cases(chosen, policies, preset == "tiny"))
    return cases


@contextlib.contextmanager
def _quiet_logging() -> Iterator[None]:
    """Pipelines run with logging at WARNING, as the benchmarks promise; restored after."""
    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


def _measure(cases: list[Case], engines: list[Engine], repeat: int, warmup: int,
             progress: IO[str] | None) -> list[Measurement]:
    measurements: list[Measurement] = []
    for case in cases:
        by_engine = {engine.name: Measurement(case, engine.name, engine.version,
                                              skipped=case.skip.get(engine.name))
                     for engine in engines}
        taking_part = [engine for engine in engines if not by_engine[engine.name].skipped]
        for round_ in range(warmup + repeat):
            # Alternate run by run, and swap who goes first each round.
            order = taking_part if round_ % 2 == 0 else taking_part[::-1]
            for engine in order:
                measurement = by_engine[engine.name]
                if measurement.skipped:
                    continue
                try:
                    sample = case.measure(engine)
                except Exception as exc:  # report it, keep measuring the rest
                    measurement.skipped = f"failed: {type(exc).__name__}: {exc}"
                    measurement.samples.clear()
                    continue
                if round_ >= warmup:
                    measurement.samples.append(sample)
        measurements.extend(by_engine.values())
        if progress is not None:
            print(_progress_line(case, list(by_engine.values())), file=progress, flush=True)
    return measurements


def _progress_line(case: Case, measurements: list[Measurement]) -> str:
    parts = []
    for item in measurements:
        median = item.median()
        parts.append(f"{item.engine} " + (format_seconds(median) if median is not None
                                          else (item.skipped or "no runs")[:60]))
    return (f"  {case.workload} | {case.label} | {case.runner_label} | {case.size:,}: "
            + ", ".join(parts))


# -- the tables -------------------------------------------------------------------------------

def _format(metric: str, value: float) -> str:
    if metric.endswith("_mb"):
        return f"{value:,.0f} MB"
    return format_seconds(value)


METRIC_NAMES = {"run_s": "run", "build_s": "construction", "peak_rss_mb": "peak RSS",
                "peak_traced_mb": "peak traced",
                "workers_peak_rss_mb": "worker peak RSS",
                "baseline_s": "run, not recorded", "given_s": "run, fingerprints given",
                "cold_s": "run, store opened for it"}


def _grid(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
                 for i, cell in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def results_table(measurements: list[Measurement], engines: list[str]) -> str:
    """One row per case and metric: each engine's median [min - max], and Kedro ÷ pipeloop."""
    header = ["workload", "case", "runner", "size", "metric", "per node"]
    header += [f"{engine} median [min - max]" for engine in engines]
    compare = "kedro" in engines
    if compare:
        header.append("kedro ÷ pipeloop")
    rows = [header]
    by_case: dict[tuple[Any, ...], dict[str, Measurement]] = {}
    for item in measurements:
        by_case.setdefault(item.case.key, {})[item.engine] = item
    for group in by_case.values():
        case = next(iter(group.values())).case
        for metric in case.metrics:
            values = [stats for item in group.values()
                      if (stats := item.stats(metric)) is not None]
            if metric == "workers_peak_rss_mb" and not any(s.median for s in values):
                continue  # no worker processes under this policy
            mine = group.get("pipeloop")
            mine_stats = mine.stats(metric) if mine else None
            per_node = ""
            if metric.endswith("_s") and mine_stats is not None and case.nodes > 1:
                per_node = format_seconds(mine_stats.median / case.nodes)
            row = [case.workload, case.label, case.runner_label, f"{case.size:,}",
                   METRIC_NAMES.get(metric, metric), per_node]
            for engine in engines:
                item = group.get(engine)
                stats = item.stats(metric) if item else None
                if stats is not None:
                    row.append(f"{_format(metric, stats.median)} "
                               f"[{_format(metric, stats.min)} - {_format(metric, stats.max)}]")
                elif item is not None and item.skipped:
                    row.append("skipped" if not item.skipped.startswith("failed") else "FAILED")
                else:
                    row.append("")
            if compare:
                theirs = group.get("kedro")
                their_stats = theirs.stats(metric) if theirs else None
                ratio = ""
                if mine_stats and their_stats and mine_stats.median > 0:
                    ratio = f"{their_stats.median / mine_stats.median:,.2f}x"
                row.append(ratio)
            rows.append(row)
    return _grid(rows, right={3, 5, *range(6, len(header))})


def targets_table(verdicts: list[Verdict], compare: bool) -> str:
    header = ["target", "Kedro 1.7.0 (reference)", "goal", "pipeloop here"]
    if compare:
        header.append("Kedro here")
    header.append("status")
    rows = [header]
    for verdict in verdicts:
        name = verdict.name + (" *" if verdict.source == "suite" else "")
        row = [name, verdict.kedro_reference, verdict.target, verdict.measured or "—"]
        if compare:
            row.append(verdict.kedro_here or "—")
        row.append(verdict.status)
        rows.append(row)
    return _grid(rows, right=set())


def _notes(measurements: list[Measurement], engines_note: str | None) -> list[str]:
    notes = []
    if engines_note:
        notes.append(f"Kedro not compared: {engines_note}.")
    seen: set[str] = set()
    for item in measurements:
        note = item.case.notes.get(item.engine)
        if note and note not in seen:
            seen.add(note)
            notes.append(f"{item.engine}, {item.case.workload}, {item.case.runner_label}: {note}.")
        if item.skipped and item.skipped not in seen:
            seen.add(item.skipped)
            notes.append(f"{item.engine}, {item.case.workload} ({item.case.label}, "
                         f"{item.case.size:,}): {item.skipped}.")
    return notes


def environment(engines: list[Engine]) -> dict[str, Any]:
    """Where these figures come from."""
    return {"kind": "environment", "python": platform.python_version(),
            "platform": platform.platform(), "cpus": os.cpu_count(),
            "engines": {engine.name: engine.version for engine in engines},
            "load_average": _load_average(),
            "date": time.strftime("%Y-%m-%d %H:%M:%S %z")}


def _load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work on the machine skews every figure."""
    try:
        return [round(load, 2) for load in os.getloadavg()]
    except OSError:  # pragma: no cover - not on every platform
        return None


# -- main -------------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    """The command line. Returns the exit status: 0, or 1 when a run failed, 2 when the
    chart could not be drawn."""
    parser = _parser()
    args = parser.parse_args(argv)
    workloads = _select_workloads(_split(args.workload), parser)
    runners = _split(args.runner)
    bad = [name for name in runners if name not in (*POLICIES, "all")]
    if bad:
        parser.error(f"unknown runner(s) {', '.join(bad)}; choose from "
                     f"{', '.join(POLICIES)} or all")
    preset, sizes = _parse_sizes(args.size, parser)
    if args.repeat < 1 or args.warmup < 0:
        parser.error("--repeat must be >= 1 and --warmup >= 0")
    if args.plot and importlib.util.find_spec("matplotlib") is None:
        parser.error("--plot needs matplotlib: pip install -e '.[bench]'")

    out = sys.stdout
    table_out = sys.stderr if args.json else sys.stdout
    progress = None if args.quiet else sys.stderr
    kedro_note = kedro_missing_reason() if args.compare_kedro else None

    with _quiet_logging():
        engines = available_engines(args.compare_kedro)
        cases = _cases(workloads, runners, preset, sizes)
        env = environment(engines)
        if progress is not None:
            print(f"pipeloop benchmarks: {len(cases)} cases x {args.repeat} runs "
                  f"(+{args.warmup} warm-up) on {', '.join(env['engines'])}; "
                  f"{env['cpus']} CPUs, Python {env['python']}", file=progress, flush=True)
        measurements = _measure(cases, engines, args.repeat, args.warmup, progress)
    verdicts = evaluate(measurements)
    engine_names = [engine.name for engine in engines]

    if args.json:
        print(json.dumps(env), file=out)
        for item in measurements:
            print(json.dumps(item.to_json()), file=out)
        for verdict in verdicts:
            print(json.dumps(verdict.to_json()), file=out)
    engines_text = ", ".join(f"{name} {version}" for name, version in env["engines"].items())
    header = f"\n{engines_text}; Python {env['python']} on {env['platform']}, {env['cpus']} CPUs"
    load_end = _load_average()
    if env["load_average"] and load_end:
        header += (f", load average {env['load_average'][0]:g} at start, "
                   f"{load_end[0]:g} at end")
    print(f"{header}; median [min - max] of {args.repeat} runs\n", file=table_out)
    print(results_table(measurements, engine_names), file=table_out)
    print("\n" + targets_table(verdicts, "kedro" in engine_names), file=table_out)
    notes = _notes(measurements, kedro_note)
    notes.append("* the suite's own checks, beyond the published targets. Targets apply at "
                 "the default sizes; others show 'not measured'.")
    print("\n" + "\n".join(notes), file=table_out)

    status = 1 if any((m.skipped or "").startswith("failed") for m in measurements) else 0
    if args.plot:
        try:
            from benchmarks.plot import plot
        except ImportError as exc:
            print(f"--plot needs matplotlib (pip install -e '.[bench]'): {exc}",
                  file=sys.stderr)
            return 2
        plot(measurements, args.plot,
             title=f"{header.strip()}; median of {args.repeat} runs")
        print(f"chart written to {args.plot}", file=sys.stderr)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
