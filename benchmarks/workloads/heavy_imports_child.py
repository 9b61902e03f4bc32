"""One ``heavy-imports`` run in a fresh process: ``python -m
benchmarks.workloads.heavy_imports_child JSON``. Prints one JSON object: ``run_s``."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from benchmarks.engines import NodeSpec, engine_named
from benchmarks.workloads import heavy_nodes
from benchmarks.workloads.funcs import gather


def heavy_nodes_spec(size: int) -> list[NodeSpec]:
    work = [NodeSpec(heavy_nodes.step, "seed", f"x{i}", f"step{i}") for i in range(size)]
    return [*work, NodeSpec(gather, [f"x{i}" for i in range(size)], "gathered", "gather")]


def measure(request: dict[str, Any]) -> dict[str, float]:
    logging.disable(logging.INFO)
    engine = engine_named(request["engine"])
    pipeline = engine.pipeline(heavy_nodes_spec(int(request["size"])))
    catalog = engine.catalog({"seed": 1}, {}, "parallel")
    start = time.perf_counter()
    engine.run(pipeline, catalog, "parallel", max_workers=request["max_workers"])
    return {"run_s": time.perf_counter() - start}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
