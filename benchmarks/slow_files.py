"""One node reading 8 JSON files from a slow filesystem: what concurrent loading buys.

Each read blocks for 50 ms in its I/O thread before the real JSONDataset read, as a network
filesystem would. With concurrent loads (``is_async=True``, the default) the node should pay
about one latency; with ``is_async=False`` about eight.

    python benchmarks/slow_files.py [--files 8] [--latency 0.05] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio.to_thread

from pipeloop import DataCatalog, Pipeline, SequentialRunner, ThreadRunner, node
from pipeloop.datasets import JSONDataset


class SlowJSONDataset(JSONDataset):
    """A JSONDataset on a filesystem whose every read blocks ``latency`` seconds."""

    latency = 0.05

    async def _read(self, path: Path) -> Any:
        await anyio.to_thread.run_sync(time.sleep, self.latency)
        return await super()._read(path)


def total(*values: int) -> int:
    return sum(values)


def build(folder: Path, files: int) -> tuple[Pipeline, DataCatalog]:
    names = [f"in{i}" for i in range(files)]
    catalog = DataCatalog({name: SlowJSONDataset(filepath=str(folder / f"{name}.json"))
                           for name in names})
    for i, name in enumerate(names):
        (folder / f"{name}.json").write_text(str(i))
    return Pipeline([node(total, names, "sum", name="total")]), catalog


def measure(runner: Any, pipeline: Pipeline, catalog: DataCatalog, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        runner.run_sync(pipeline, catalog)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    SlowJSONDataset.latency = args.latency
    with tempfile.TemporaryDirectory() as folder:
        pipeline, catalog = build(Path(folder), args.files)
        print(f"{args.files} JSON files, {args.latency * 1000:.0f} ms per read, "
              f"median of {args.repeat}:")
        for label, runner in [
            ("SequentialRunner()", SequentialRunner()),
            ("ThreadRunner()", ThreadRunner()),
            ("SequentialRunner(is_async=False)", SequentialRunner(is_async=False)),
        ]:
            seconds = measure(runner, pipeline, catalog, args.repeat)
            print(f"  {label:34} {seconds * 1000:7.1f} ms  "
                  f"({seconds / args.latency:.1f} latencies)")


if __name__ == "__main__":
    main()
