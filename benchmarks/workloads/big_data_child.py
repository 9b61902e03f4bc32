"""One ``big-data`` run in a fresh process: ``python -m benchmarks.workloads.big_data_child
JSON``. Prints one JSON object: ``run_s``."""

from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import pandas  # noqa: F401  # an app that reads Parquet has these imported already
import pyarrow.parquet  # noqa: F401

from benchmarks.engines import NodeSpec, engine_named
from benchmarks.workloads.funcs import crunch_frame, gather


def big_data_nodes(branches: int) -> list[NodeSpec]:
    work = [NodeSpec(crunch_frame, [f"in{i}", "iterations"], [f"out{i}", f"summary{i}"],
                     f"crunch{i}") for i in range(branches)]
    return [*work, NodeSpec(gather, [f"summary{i}" for i in range(branches)], "gathered",
                            "gather")]


def datasets(engine_name: str, folder: Path, branches: int) -> dict[str, Any]:
    from kedro_datasets.pandas import ParquetDataset

    out = folder / engine_name
    out.mkdir(exist_ok=True)
    found: dict[str, Any] = {}
    for i in range(branches):
        found[f"in{i}"] = ParquetDataset(filepath=str(folder / f"in{i}.parquet"))
        found[f"out{i}"] = ParquetDataset(filepath=str(out / f"out{i}.parquet"))
    if engine_name == "pipeloop":
        from pipeloop.datasets.kedro_adapter import KedroDataset

        found = {name: KedroDataset(dataset) for name, dataset in found.items()}
    return found


def measure(request: dict[str, Any]) -> dict[str, float]:
    logging.disable(logging.INFO)
    engine = engine_named(request["engine"])
    policy = request["policy"]
    branches = int(request["branches"])
    pipeline = engine.pipeline(big_data_nodes(branches))
    catalog = engine.catalog({"iterations": request["iterations"]},
                             datasets(engine.name, Path(request["folder"]), branches), policy)
    workers = request["max_workers"] if policy != "sequential" else None
    start = time.perf_counter()
    engine.run(pipeline, catalog, policy, max_workers=workers)
    return {"run_s": time.perf_counter() - start}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
