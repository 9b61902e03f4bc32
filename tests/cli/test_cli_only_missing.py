"""``--only-missing-outputs``: which nodes must run to make what does not exist."""

from __future__ import annotations

from pathlib import Path

from pipeloop import DataCatalog, MemoryDataset, Pipeline, node
from pipeloop.cli.only_missing import only_missing_outputs
from pipeloop.datasets import JSONDataset


def _inc(x: int) -> int:
    return x + 1


def _names(pipeline: Pipeline) -> list[str]:
    return [item.name for item in pipeline.nodes]


PIPE = Pipeline([
    node(_inc, "x", "a", name="first"),      # a: in memory
    node(_inc, "a", "b", name="second"),     # b: a file
    node(_inc, "b", "c", name="third"),      # c: a file
    node(_inc, "a", "d", name="fourth"),     # d: a file
])


def _catalog(tmp_path: Path) -> DataCatalog:
    return DataCatalog({"x": MemoryDataset(1), **{
        name: JSONDataset(str(tmp_path / f"{name}.json")) for name in "bcd"}})


async def test_everything_runs_when_nothing_exists(tmp_path: Path) -> None:
    pipe = await only_missing_outputs(PIPE, _catalog(tmp_path))
    assert _names(pipe) == _names(PIPE)


async def test_nothing_runs_when_every_output_exists(tmp_path: Path) -> None:
    for name in "bcd":
        (tmp_path / f"{name}.json").write_text("1")
    assert _names(await only_missing_outputs(PIPE, _catalog(tmp_path))) == []


async def test_a_missing_output_reruns_its_node_what_follows_and_lost_memory_inputs(
    tmp_path: Path,
) -> None:
    for name in "cd":
        (tmp_path / f"{name}.json").write_text("1")
    pipe = await only_missing_outputs(PIPE, _catalog(tmp_path))
    # second's output is missing; third follows it; first makes the in-memory a it needs
    assert sorted(_names(pipe)) == ["first", "second", "third"]


async def test_free_outputs_and_nodes_without_outputs_always_run(tmp_path: Path) -> None:
    pipe = Pipeline([node(_inc, "x", "free", name="free"), node(print, "x", None, name="side")])
    assert sorted(_names(await only_missing_outputs(pipe, _catalog(tmp_path)))) == [
        "free", "side"]
