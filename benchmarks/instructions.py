"""Instructions per run of an in-memory chain, counted by valgrind: a figure of the
scheduler's per-node cost that does not depend on how busy the machine is.

Wall-clock medians on a shared 2-core machine move by 10-30% from one minute to the next;
instruction counts of the same code on the same inputs repeat to a fraction of a percent.
Each measurement runs the chain once and then ``1 + runs`` times under
``valgrind --tool=callgrind``, and takes the difference, so interpreter start-up and imports
cancel out. The scheduler's time-based yield (every few milliseconds of inline work) is
switched off, because under valgrind time runs ~50x slower and the yields would be counted.

    python -m benchmarks.instructions                       # this checkout
    python -m benchmarks.instructions --against ../old      # and another one, with the ratio

Needs valgrind (``apt install valgrind``).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

_CHAIN = """
import sys
import pipeloop.engine.scheduler as scheduler
from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, ThreadRunner, node

scheduler._PAUSE_EVERY = float("inf")  # no time-based yields: valgrind's clock is slow


def inc(x):
    return x + 1


nodes, runs, runner = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
pipeline = Pipeline([node(inc, f"d{i}", f"d{i + 1}", name=f"n{i}") for i in range(nodes)])
make = {"sequential": SequentialRunner, "thread": ThreadRunner}[runner]
for _ in range(runs):
    make().run_sync(pipeline, DataCatalog({"d0": MemoryDataset(0)}))
"""


def _instructions(checkout: Path, nodes: int, runs: int, runner: str) -> int:
    """Instructions valgrind counted for ``runs`` runs of the chain in ``checkout``."""
    env = dict(os.environ, PYTHONPATH=str(checkout), PYTHONHASHSEED="0")
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-P", "-c", _CHAIN, str(nodes), str(runs), runner],  # -P: not the cwd's pipeloop
        env=env, cwd=checkout, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no total:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_run(checkout: Path, nodes: int, runs: int, runner: str) -> float:
    """Instructions of one run, start-up and imports taken out."""
    once = _instructions(checkout, nodes, 1, runner)
    many = _instructions(checkout, nodes, 1 + runs, runner)
    return (many - once) / runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=6, help="runs counted (default 6)")
    parser.add_argument("--runner", choices=("sequential", "thread"), default="sequential")
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    options = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt install valgrind).")
    here = Path(__file__).resolve().parents[1]
    mine = per_run(here, options.nodes, options.runs, options.runner)
    print(f"{here}: {mine / 1e6:.1f} M instructions per run, "
          f"{mine / options.nodes / 1e3:.1f} k per node ({options.runner}, "
          f"{options.nodes:,} nodes)")
    if options.against is not None:
        theirs = per_run(options.against.resolve(), options.nodes, options.runs,
                         options.runner)
        print(f"{options.against}: {theirs / 1e6:.1f} M instructions per run, "
              f"{theirs / options.nodes / 1e3:.1f} k per node")
        print(f"ratio (this / that): {mine / theirs:.3f}")


if __name__ == "__main__":
    main()
