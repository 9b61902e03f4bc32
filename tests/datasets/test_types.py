"""``type:`` names: Kedro's spellings of pipeloop's datasets, and Kedro-protocol classes
(kedro-datasets' among them) wrapped so they work in a pipeloop catalog."""

from __future__ import annotations

import importlib.util
import json
import pickle
import threading
from pathlib import Path
from typing import Any

import pytest

from pipeloop import (
    DataCatalog,
    MemoryDataset,
    ParallelRunner,
    Pipeline,
    SequentialRunner,
    ThreadRunner,
    node,
)
from pipeloop.datasets import JSONDataset, PickleDataset, TextDataset
from pipeloop.datasets import types as types_module
from pipeloop.datasets.kedro_adapter import KedroDataset
from pipeloop.datasets.types import resolve_type
from pipeloop.errors import ConfigError

HAS_PANDAS = importlib.util.find_spec("pandas") is not None
HAS_KEDRO_DATASETS = importlib.util.find_spec("kedro_datasets") is not None
needs_kedro_datasets = pytest.mark.skipif(
    not HAS_KEDRO_DATASETS,
    reason="kedro-datasets is not installed (pip install 'pipeloop[kedro]')",
)


# -- Kedro's spellings of pipeloop's own datasets ------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("JSONDataSet", JSONDataset),
        ("json.JSONDataset", JSONDataset),
        ("kedro_datasets.json.JSONDataset", JSONDataset),
        ("kedro_datasets.json.JSONDataSet", JSONDataset),
        ("pickle.PickleDataset", PickleDataset),
        ("text.TextDataSet", TextDataset),
        ("MemoryDataSet", MemoryDataset),
        ("kedro.io.MemoryDataset", MemoryDataset),
    ],
)
def test_kedro_spellings_resolve_to_pipeloops_own_class(name: str, expected: type) -> None:
    assert resolve_type(name, label="'x'") is expected


@pytest.mark.skipif(not HAS_PANDAS, reason="pandas is not installed")
def test_pipeloops_pandas_dataset_wins_over_kedro_datasets() -> None:
    from pipeloop.datasets.pandas import CSVDataset, ParquetDataset

    assert resolve_type("kedro_datasets.pandas.CSVDataset", label="'x'") is CSVDataset
    assert resolve_type("pandas.ParquetDataset", label="'x'") is ParquetDataset
    assert resolve_type("kedro_datasets.pandas.ParquetDataSet", label="'x'") is ParquetDataset


# -- a class of Kedro's protocol, wrapped --------------------------------------------------


class RecordingKedroDataset:
    """Kedro's protocol by hand: plain load/save/_describe/exists, no pipeloop base class."""

    threads: list[int] = []

    def __init__(self, filepath: str, *, credentials: dict[str, Any] | None = None,
                 load_args: dict[str, Any] | None = None,
                 save_args: dict[str, Any] | None = None,
                 fs_args: dict[str, Any] | None = None, version: Any = None) -> None:
        self.filepath = filepath
        self.credentials = dict(credentials or {})
        self.load_args, self.save_args, self.fs_args = load_args, save_args, fs_args
        self._version = version

    def load(self) -> str:
        type(self).threads.append(threading.get_ident())
        return Path(self.filepath).read_text()

    def save(self, data: str) -> None:
        type(self).threads.append(threading.get_ident())
        Path(self.filepath).write_text(data)

    def exists(self) -> bool:
        return Path(self.filepath).exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self.filepath}


def _kedro_entry(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {"type": f"{__name__}.RecordingKedroDataset",
            "filepath": str(tmp_path / "data.txt"), **extra}


async def test_kedro_protocol_class_is_wrapped_and_runs_off_the_loop(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config({"data": _kedro_entry(tmp_path)})
    dataset = catalog["data"]
    assert isinstance(dataset, KedroDataset)
    assert isinstance(dataset.dataset, RecordingKedroDataset)
    assert not await catalog.exists("data")
    RecordingKedroDataset.threads.clear()
    await catalog.save("data", "hello")
    assert await catalog.exists("data")
    assert await catalog.load("data") == "hello"
    assert threading.get_ident() not in RecordingKedroDataset.threads
    assert "RecordingKedroDataset" in repr(dataset) and "data.txt" in repr(dataset)


def test_arguments_and_credentials_are_passed_through(tmp_path: Path) -> None:
    entry = _kedro_entry(tmp_path, credentials="db", load_args={"a": 1},
                         save_args={"b": 2}, fs_args={"c": 3})
    catalog = DataCatalog.from_config({"data": entry},
                                      {"db": {"user": "u", "password": "pw-secret"}})
    inner = catalog["data"].dataset  # type: ignore[attr-defined]
    assert inner.credentials == {"user": "u", "password": "pw-secret"}
    assert (inner.load_args, inner.save_args, inner.fs_args) == ({"a": 1}, {"b": 2}, {"c": 3})
    assert "pw-secret" not in repr(catalog)


def test_versioned_entry_passes_the_version(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config({"data": _kedro_entry(tmp_path, versioned=True)},
                                      load_versions={"data": "v0"}, save_version="v1")
    version = catalog["data"].dataset._version  # type: ignore[attr-defined]
    assert (version.load, version.save) == ("v0", "v1")


def test_unknown_argument_of_a_kedro_class_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no argument 'filpath'"):
        DataCatalog.from_config({"data": {"type": f"{__name__}.RecordingKedroDataset",
                                          "filpath": "x"}})


async def test_wrapped_dataset_pickles(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config({"data": _kedro_entry(tmp_path)})
    await catalog.save("data", "kept")
    copy = pickle.loads(pickle.dumps(catalog["data"]))
    assert isinstance(copy, KedroDataset)
    assert await copy.load() == "kept"


# -- names that resolve nowhere ------------------------------------------------------------


def test_unknown_name_without_kedro_datasets_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(types_module, "_KEDRO_DATASETS", "kedro_datasets_not_installed")
    with pytest.raises(ConfigError) as info:
        resolve_type("plotly.PlotlyDataset", label="'chart'")
    message = str(info.value)
    assert "'chart'" in message
    assert "pip install 'pipeloop[kedro]'" in message
    assert "kedro-datasets[plotly-plotlydataset]" in message


def test_unknown_short_name_suggests_close_matches() -> None:
    with pytest.raises(ConfigError, match="did you mean 'JSONDataset'"):
        resolve_type("JSONDatset", label="'x'")


@needs_kedro_datasets
def test_unknown_kedro_datasets_class_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"unknown dataset type 'pandas\.NoSuchDataset'"):
        resolve_type("pandas.NoSuchDataset", label="'x'")


# -- kedro-datasets' own classes -----------------------------------------------------------


@needs_kedro_datasets
@pytest.mark.parametrize("name", ["pandas.ExcelDataset",
                                  "kedro_datasets.pandas.ExcelDataset"])
async def test_kedro_datasets_excel_round_trip(tmp_path: Path, name: str) -> None:
    pytest.importorskip("openpyxl")
    import pandas as pd

    catalog = DataCatalog.from_config({"cars": {
        "type": name, "filepath": str(tmp_path / "cars.xlsx"),
        "save_args": {"index": False}, "versioned": True,
    }}, save_version="2024-01-01T00.00.00.000Z")
    assert isinstance(catalog["cars"], KedroDataset)
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    await catalog.save("cars", frame)
    assert (tmp_path / "cars.xlsx" / "2024-01-01T00.00.00.000Z" / "cars.xlsx").is_file()
    pd.testing.assert_frame_equal(await catalog.load("cars"), frame)


def _figure() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots()
    axes.plot([1, 2, 3])
    return figure


def _draw(frame: Any) -> Any:
    return _figure()


def _describe(frame: Any) -> dict[str, int]:
    return {"rows": len(frame)}


@needs_kedro_datasets
@pytest.mark.parametrize("runner", [SequentialRunner, ThreadRunner, ParallelRunner])
def test_kedro_datasets_under_runners(tmp_path: Path, runner: type) -> None:
    pytest.importorskip("matplotlib")
    pytest.importorskip("pyarrow")
    import pandas as pd

    pd.DataFrame({"a": [1, 2, 3]}).to_parquet(tmp_path / "in.parquet")
    catalog = DataCatalog.from_config({
        "frame": {"type": "kedro_datasets.pandas.ParquetDataset",
                  "filepath": str(tmp_path / "in.parquet")},
        "plot": {"type": "matplotlib.MatplotlibDataset",
                 "filepath": str(tmp_path / "plot.png")},
        "summary": {"type": "json.JSONDataset", "filepath": str(tmp_path / "s.json")},
    })
    assert isinstance(catalog["plot"], KedroDataset)
    pipeline = Pipeline([
        node(_draw, "frame", "plot", name="draw"),
        node(_describe, "frame", "summary", name="describe"),
    ])
    runner().run_sync(pipeline, catalog)
    assert (tmp_path / "plot.png").stat().st_size > 0
    assert json.loads((tmp_path / "s.json").read_text()) == {"rows": 3}


@needs_kedro_datasets
async def test_kedro_datasets_plotly_json_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    import plotly.graph_objects as go

    catalog = DataCatalog.from_config({"chart": {
        "type": "plotly.JSONDataset", "filepath": str(tmp_path / "chart.json"),
    }})
    assert isinstance(catalog["chart"], KedroDataset)
    figure = go.Figure(data=[go.Bar(y=[1, 3, 2])])
    await catalog.save("chart", figure)
    loaded = await catalog.load("chart")
    assert list(loaded.data[0].y) == [1, 3, 2]
