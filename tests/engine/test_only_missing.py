"""``--only-missing-outputs``: which nodes must run to make what does not exist."""

from __future__ import annotations

from pathlib import Path

from pipeloop import DataCatalog, MemoryDataset, Pipeline, node
from pipeloop.datasets import JSONDataset
from pipeloop.engine.only_missing import only_missing_outputs


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


async def test_a_missing_output_runs_its_node_and_the_producers_of_lost_memory_inputs(
    tmp_path: Path,
) -> None:
    for name in "cd":
        (tmp_path / f"{name}.json").write_text("1")
    pipe = await only_missing_outputs(PIPE, _catalog(tmp_path))
    # second's output is missing; first makes the in-memory a it needs; third and fourth
    # keep their existing outputs (Kedro 1.x does not re-run what follows for that alone)
    assert _names(pipe) == ["first", "second"]


async def test_an_existing_persisted_input_spares_its_producer(tmp_path: Path) -> None:
    for name in "bd":
        (tmp_path / f"{name}.json").write_text("1")
    assert _names(await only_missing_outputs(PIPE, _catalog(tmp_path))) == ["third"]


async def test_free_and_registered_memory_outputs_are_never_missing(tmp_path: Path) -> None:
    pipe = Pipeline([node(_inc, "x", "free", name="free"),
                     node(_inc, "x", "kept", name="kept"),
                     node(print, "x", None, name="side")])
    catalog = _catalog(tmp_path)
    catalog.add("kept", MemoryDataset())
    assert _names(await only_missing_outputs(pipe, catalog)) == ["side"]


async def test_the_runner_applies_it_and_returns_only_outputs_that_exist(
    tmp_path: Path,
) -> None:
    from pipeloop import SequentialRunner

    for name in "cd":
        (tmp_path / f"{name}.json").write_text("7")
    catalog = _catalog(tmp_path)
    await SequentialRunner().run(PIPE, catalog, only_missing_outputs=True)
    assert (tmp_path / "b.json").read_text().strip() == "3"
    assert (tmp_path / "c.json").read_text().strip() == "7"  # not re-made
