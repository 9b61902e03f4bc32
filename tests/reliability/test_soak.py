"""Soak: many runs at once on one runner, and many runs one after another in one process.

Every value carries the number of the run that made it, and every node refuses inputs from
another run, so cross-talk between concurrent runs (a shared catalog, a shared dataset, a
node's inputs mixed up between runs) fails loudly instead of averaging out.

Memory is measured twice: the Python heap with ``tracemalloc`` (precise, catches a few
hundred bytes kept per run) and the resident set size from ``/proc/self/statm`` (what an
operator sees; catches leaks outside the Python heap). Both are taken after a warm-up, once
caches and pools have filled.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from thread_pools import thread_pool_caps, threads_by_pool

from pipeloop import AbstractRunner, DataCatalog, MemoryDataset, Pipeline, node
from pipeloop.datasets import JSONDataset

CONCURRENT_RUNS = 200
REPEATED_RUNS = 1000
WARM_UP = 100
MAX_RSS_GROWTH = 5 * 2**20
MAX_HEAP_GROWTH = 512 * 2**10  # 0.5 KB kept per run would already fail


class CrossTalk(AssertionError):
    """A node received data from another run."""


def _run_of(*values: dict[str, int]) -> int:
    runs = {value["run"] for value in values}
    if len(runs) != 1:
        raise CrossTalk(f"inputs from runs {sorted(runs)} met in one node")
    return runs.pop()


# -- node functions ----------------------------------------------------------------------


def split(seed: dict[str, int]) -> list[dict[str, int]]:
    run = _run_of(seed)
    return [{"run": run, "v": seed["v"] + 1, "pause": seed["pause"]},
            {"run": run, "v": seed["v"] - 1}]


async def double(left: dict[str, int]) -> dict[str, int]:
    await anyio.sleep(left["pause"] / 1000)  # concurrent runs overtake one another
    return {"run": _run_of(left), "v": left["v"] * 2}


def square(right: dict[str, int]) -> dict[str, int]:
    return {"run": _run_of(right), "v": right["v"] ** 2}


def merge(left: dict[str, int], right: dict[str, int], scale: int) -> dict[str, int]:
    return {"run": _run_of(left, right), "v": (left["v"] + right["v"]) * scale}


async def summarise(merged: dict[str, int], seed: dict[str, int]) -> dict[str, int]:
    await anyio.sleep(0)
    return {"run": _run_of(merged, seed), "total": merged["v"] - seed["v"]}


PIPELINE = Pipeline([
    node(split, "seed", ["left", "right"], name="split"),
    node(double, "left", "left2", name="double"),
    node(square, "right", "right2", name="square"),
    node(merge, ["left2", "right2", "params:scale"], "merged", name="merge"),
    node(summarise, ["merged", "seed"], "summary", name="summarise"),
])
SCALE = 3


def expected(run: int) -> tuple[dict[str, int], dict[str, int]]:
    """``merged`` and ``summary`` of run ``run``, computed by hand."""
    v = run * 10
    merged = {"run": run, "v": ((v + 1) * 2 + (v - 1) ** 2) * SCALE}
    return merged, {"run": run, "total": merged["v"] - v}


def catalog_for(run: int, merged_file: Path, pause: int = 0) -> DataCatalog:
    catalog = DataCatalog({
        "seed": MemoryDataset({"run": run, "v": run * 10, "pause": pause}),
        "merged": JSONDataset(merged_file),
    })
    catalog.add_parameters({"scale": SCALE})
    return catalog


SHARED_POLICIES = ("sequential", "thread")


# -- many at once --------------------------------------------------------------------------


@pytest.mark.parametrize("policy", SHARED_POLICIES)
async def test_200_concurrent_runs_of_one_runner_do_not_cross_talk(
    policy: str, tmp_path: Path, runner_of: Callable[..., AbstractRunner],
    leaked_tasks: Callable[..., list[str]], assert_whole_files: Callable[[Path], None],
) -> None:
    runner = runner_of(policy)
    results: dict[int, dict[str, Any]] = {}
    tasks = set(asyncio.all_tasks())

    async def one(run: int) -> None:
        catalog = catalog_for(run, tmp_path / f"{run}.json", pause=run % 7)
        results[run] = await runner.run(PIPELINE, catalog)

    async with anyio.create_task_group() as group:
        for run in range(CONCURRENT_RUNS):
            group.start_soon(one, run)

    assert not leaked_tasks(tasks)
    for run in range(CONCURRENT_RUNS):
        merged, summary = expected(run)
        assert results[run] == {"summary": summary}, f"run {run}"
        assert json.loads((tmp_path / f"{run}.json").read_bytes()) == merged, f"run {run}"
    assert_whole_files(tmp_path)


# -- many in a row -------------------------------------------------------------------------


@pytest.mark.parametrize("policy", SHARED_POLICIES)
def test_1000_runs_in_a_row_keep_memory_and_descriptors_flat(
    policy: str, tmp_path: Path, runner_of: Callable[..., AbstractRunner],
    resources: Any, assert_no_leaks: Callable[..., None],
    assert_whole_files: Callable[[Path], None], rss: Callable[[], int],
) -> None:
    baseline = resources.take()
    measured: dict[str, int] = {}
    threads: dict[str, Counter[str]] = {}
    caps: dict[str, int] = {}

    async def main() -> None:
        runner = runner_of(policy)
        caps.update(thread_pool_caps(runner))
        tasks = set(asyncio.all_tasks())
        for run in range(WARM_UP + REPEATED_RUNS):
            if run == WARM_UP:
                gc.collect()
                tracemalloc.start()
                measured.update(heap=tracemalloc.get_traced_memory()[0], rss=rss(),
                                fds=len(os.listdir("/proc/self/fd")))
                threads["before"] = threads_by_pool(caps)
            result = await runner.run(PIPELINE, catalog_for(run, tmp_path / "merged.json"))
            assert result == {"summary": expected(run)[1]}
        gc.collect()
        measured.update(heap_growth=tracemalloc.get_traced_memory()[0] - measured["heap"],
                        rss_growth=rss() - measured["rss"],
                        fds_after=len(os.listdir("/proc/self/fd")),
                        tasks_left=len(set(asyncio.all_tasks()) - tasks))
        threads["after"] = threads_by_pool(caps)
        tracemalloc.stop()

    try:
        anyio.run(main)
    finally:
        tracemalloc.stop()
    assert measured["heap_growth"] < MAX_HEAP_GROWTH, measured
    assert measured["rss_growth"] < MAX_RSS_GROWTH, measured
    assert abs(measured["fds_after"] - measured["fds"]) <= 2, measured
    # A pool may top up after the warm-up (more so on a loaded machine, where runs overlap
    # their I/O more) but never by more than its cap (threads of other runners' pools may
    # be there from the start); any other thread would be one left per run.
    before, after = threads["before"], threads["after"]
    assert after["other"] <= before["other"], (before, after)
    assert all(after[pool] - before[pool] <= cap for pool, cap in caps.items()), (
        before, after, caps)
    assert measured["tasks_left"] == 0, measured
    assert_whole_files(tmp_path)
    assert_no_leaks(baseline, pool_threads=caps["pipeloop-thread"])
