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
    python -m benchmarks.instructions --recording           # what provenance recording adds

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
import gc
import sys
import tempfile
from pathlib import Path

import anyio

import pipeloop.engine.scheduler as scheduler
from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, ThreadRunner, node
from pipeloop.engine.fingerprint import fingerprint_pipeline
from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore

scheduler._PAUSE_EVERY = float("inf")  # no time-based yields: valgrind's clock is slow


def inc(x):
    return x + 1


nodes, runs, runner, recording, built = (int(sys.argv[1]), int(sys.argv[2]), sys.argv[3],
                                         sys.argv[4], int(sys.argv[5]))
# As many pipelines built in every count, so that only runs differ between counts.
# Recorded runs start from a parameter, which has a fingerprint (a MemoryDataset has none).
source = "d0" if recording in ("plain", "unknown") else "params:seed"
pipelines = [Pipeline([node(inc, source if i == 0 else f"d{i}", f"d{i + 1}", name=f"n{i}")
                       for i in range(nodes)]) for _ in range(built)]
gc.freeze()  # the pipelines built for later runs are no garbage collector's work


def catalog():
    made = DataCatalog({"d0": MemoryDataset(0)})
    made.add_parameters({"seed": 0})
    return made


make = {"sequential": SequentialRunner, "thread": ThreadRunner}[runner]
store = ProvenanceStore(Path(tempfile.mkdtemp()) / "provenance.db")
given = anyio.run(fingerprint_pipeline, pipelines[0], catalog())
hooks = {"plain": lambda: [], "none": lambda: [],
         "held": lambda: [ProvenanceRecorder(store)],
         "unknown": lambda: [ProvenanceRecorder(store)],
         "given": lambda: [ProvenanceRecorder(store, fingerprints=given)],
         "cold": lambda: [ProvenanceRecorder(ProvenanceStore(store.path))]}[recording]
# A first run, in every count alike (recorded: the store's first write, of every row).
make().run_sync(pipelines[0], catalog(),
                hooks=[] if recording == "plain" else [ProvenanceRecorder(store)])
for index in range(runs):
    made = hooks()
    make().run_sync(pipelines[index + 1], catalog(), hooks=made)
    for hook in made:
        if hook.store is not store:
            hook.store.close()
"""

#: ``--recording`` modes: no recorder; one on a store kept open across runs; the same
#: with the fingerprints handed over; a store opened for each run (as ``Project.run``);
#: a store kept open, with the chain fed by a MemoryDataset, which has no fingerprint (so
#: every node's is partial), against the same chain unrecorded ("plain", which is also
#: what runs without ``--recording``).
RECORDINGS = ("none", "held", "given", "cold", "unknown")


def _instructions(checkout: Path, nodes: int, runs: int, runner: str, recording: str,
                  built: int) -> int:
    """Instructions valgrind counted for ``runs`` runs of the chain in ``checkout``."""
    env = dict(os.environ, PYTHONPATH=str(checkout), PYTHONHASHSEED="0")
    result = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         "-P", "-c", _CHAIN, str(nodes), str(runs), runner, recording, str(built)],
        # -P: not the cwd's pipeloop
        env=env, cwd=checkout, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no total:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def per_run(checkout: Path, nodes: int, runs: int, runner: str,
            recording: str = "plain") -> float:
    """Instructions of one run, start-up, imports and pipeline construction taken out."""
    once = _instructions(checkout, nodes, 0, runner, recording, 1 + runs)
    many = _instructions(checkout, nodes, runs, runner, recording, 1 + runs)
    return (many - once) / runs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--nodes", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=6, help="runs counted (default 6)")
    parser.add_argument("--runner", choices=("sequential", "thread"), default="sequential")
    parser.add_argument("--against", type=Path, help="another checkout to compare with")
    parser.add_argument("--recording", action="store_true",
                        help="what provenance recording adds to a run, in each way a run "
                             "records (see RECORDINGS)")
    options = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt install valgrind).")
    here = Path(__file__).resolve().parents[1]
    if options.recording:
        _recording_overhead(here, options.nodes, options.runs, options.runner)
        return
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


def _recording_overhead(checkout: Path, nodes: int, runs: int, runner: str) -> None:
    plain = per_run(checkout, nodes, runs, runner, "none")
    print(f"not recorded: {plain / 1e6:.1f} M instructions per run ({runner}, "
          f"{nodes:,} nodes)")
    for recording in RECORDINGS[1:]:
        recorded = per_run(checkout, nodes, runs, runner, recording)
        if recording == "unknown":
            plain = per_run(checkout, nodes, runs, runner, "plain")
        print(f"recorded, {recording}: {recorded / 1e6:.1f} M, {recorded / plain - 1:+.1%}")


if __name__ == "__main__":
    main()
