"""Kedro pipelines translated for pipeloop: the same node names and dataset names, and
Kedro's order for transcoded datasets."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

pytest.importorskip("kedro", minversion="1.0")
pytest.importorskip("kedro_datasets")

from kedro.framework.hooks.manager import _create_hook_manager
from kedro.io import DataCatalog, MemoryDataset
from kedro.pipeline import Pipeline, node, pipeline
from kedro_datasets.json import JSONDataset
from kedro_datasets.text import TextDataset
from kedro_funcs import add, double, scale

import pipeloop.kedro
from pipeloop.kedro.pipelines import translate_pipeline


def test_node_names_and_datasets_are_kept_exactly() -> None:
    inner = Pipeline([node(add, ["a", "b"], "s"),
                      node(scale, {"value": "s", "factor": "params:k"}, "t", name="scale")])
    kedro = pipeline(inner, namespace="ns") + Pipeline([node(double, "x@json", "y")])
    translation = translate_pipeline(kedro)
    assert {n.name for n in translation.pipeline.nodes} == {n.name for n in kedro.nodes}
    for translated in translation.pipeline.nodes:
        original = translation.kedro_nodes[translated.name]
        assert original.name == translated.name
        assert sorted(translated.inputs) == sorted(set(original.inputs))
        assert sorted(translated.outputs) == sorted(original.outputs)
    # The translation adds no dataset of its own.
    assert translation.pipeline.datasets() == kedro.datasets()


def test_a_transcoded_dataset_orders_its_reader_after_its_writer() -> None:
    kedro = Pipeline([node(double, "x", "ds@json", name="write"),
                      node(double, "ds@text", "y", name="read")])
    translation = translate_pipeline(kedro)
    # pipeloop links the formats itself: no dataset is added to order them.
    assert translation.pipeline.datasets() == {"x", "ds@json", "ds@text", "y"}
    assert translation.pipeline.inputs() == {"x"}  # ds@text is made by 'write'
    assert [n.name for n in translation.pipeline.nodes] == ["write", "read"]


def slow_write(x: int) -> int:
    time.sleep(0.2)  # the reader would find no file if it did not wait
    return x


def read_text(text: str) -> str:
    return text.strip()


def test_the_reader_of_another_format_reads_what_the_writer_saved(tmp_path: Path) -> None:
    path = str(tmp_path / "ds.json")
    catalog = DataCatalog({"x": MemoryDataset(41), "ds@json": JSONDataset(filepath=path),
                           "ds@text": TextDataset(filepath=path)})
    kedro = Pipeline([node(slow_write, "x", "ds@json", name="write"),
                      node(read_text, "ds@text", "y", name="read")])
    result = pipeloop.kedro.ThreadRunner().run(kedro, catalog, _create_hook_manager())
    assert result["y"].load() == "41"
    assert "pipeloop" not in " ".join(catalog.keys())


def test_any_dataset_name_reaches_the_function() -> None:
    """Names are passed by keyword to pipeloop's node: even ``self`` and ``params:x``."""
    kedro = Pipeline([node(scale, ["self", "params:x"], "out", name="scale")])
    catalog = DataCatalog({"self": MemoryDataset(4), "params:x": MemoryDataset(5)})
    result = pipeloop.kedro.SequentialRunner().run(kedro, catalog, _create_hook_manager())
    assert result["out"].load() == 20
