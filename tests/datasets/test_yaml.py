"""YAMLDataset: YAML-compatible data round-trips; loading is always safe."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop.datasets.file import Version
from pipeloop.datasets.yaml import YAMLDataset
from pipeloop.errors import DatasetError

yaml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.dates(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=25,
).filter(lambda value: value is not None)  # saving None is refused by every dataset


@settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=yaml_values)
async def test_round_trip_generated(tmp_path: Path, data: Any) -> None:
    dataset = YAMLDataset(tmp_path / "data.yml")
    await dataset.save(data)
    assert await dataset.load() == data


@pytest.mark.parametrize(
    "data",
    [
        [],
        {},
        "",
        {"name": "Zoë 漢字 🚀", "when": datetime.date(2024, 5, 1), "tags": ["a", "b"]},
        {"looks like": ["yes", "no", "null", "1.0", "0x10"]},
        {"line breaks in disguise": "a\x85b\u2028c\u2029d"},
    ],
)
async def test_round_trip(tmp_path: Path, data: Any) -> None:
    dataset = YAMLDataset(tmp_path / "data.yml")
    await dataset.save(data)
    assert await dataset.load() == data


async def test_default_layout_is_block_style(tmp_path: Path) -> None:
    path = tmp_path / "data.yml"
    await YAMLDataset(path).save({"city": "Zürich", "ids": [1, 2]})
    assert path.read_text(encoding="utf-8") == 'city: "Z\\xFCrich"\nids:\n- 1\n- 2\n'


async def test_save_args_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "data.yml"
    dataset = YAMLDataset(
        path, save_args={"default_flow_style": True, "sort_keys": False, "allow_unicode": True}
    )
    await dataset.save({"b": "é", "a": [1, 2]})
    assert path.read_text(encoding="utf-8") == "{b: é, a: [1, 2]}\n"


async def test_encoding_save_arg(tmp_path: Path) -> None:
    path = tmp_path / "data.yml"
    dataset = YAMLDataset(path, save_args={"encoding": "utf-8", "allow_unicode": True})
    await dataset.save({"k": "é"})
    assert path.read_bytes() == "k: é\n".encode()
    assert await dataset.load() == {"k": "é"}


async def test_python_tags_are_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.yml"
    marker = tmp_path / "pwned"
    path.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(DatasetError, match="could not determine a constructor"):
        await YAMLDataset(path).load()
    assert not marker.exists()


@pytest.mark.parametrize("loader", ["Loader", "UnsafeLoader", "FullLoader", "CLoader"])
def test_unsafe_loaders_are_refused(tmp_path: Path, loader: str) -> None:
    if not hasattr(yaml, loader):
        pytest.skip(f"yaml.{loader} not available")
    with pytest.raises(DatasetError, match="safe loaders only"):
        YAMLDataset(tmp_path / "x.yml", load_args={"Loader": getattr(yaml, loader)})


def test_unknown_load_args_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="takes only 'Loader'; got strict"):
        YAMLDataset(tmp_path / "x.yml", load_args={"strict": True})


async def test_safe_loader_choice_passes_through(tmp_path: Path) -> None:
    path = tmp_path / "data.yml"
    path.write_text("n: 1\nflag: true\n")
    as_strings = YAMLDataset(path, load_args={"Loader": yaml.BaseLoader})
    assert await as_strings.load() == {"n": "1", "flag": "true"}
    assert await YAMLDataset(path).load() == {"n": 1, "flag": True}


async def test_unrepresentable_data_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "data.yml"
    await YAMLDataset(path).save({"version": 1})
    with pytest.raises(DatasetError, match="cannot represent an object"):
        await YAMLDataset(path).save({"bad": object()})
    assert yaml.safe_load(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["data.yml"]


async def test_exists_release_and_parents(tmp_path: Path) -> None:
    dataset = YAMLDataset(tmp_path / "deep" / "er" / "data.yml")
    assert not await dataset.exists()
    await dataset.save({"a": 1})
    assert await dataset.exists()
    await dataset.release()
    assert await dataset.load() == {"a": 1}


async def test_versioned(tmp_path: Path) -> None:
    filepath = tmp_path / "params.yml"
    await YAMLDataset(filepath, version=Version(None, "2024-01-01T00.00.00.000Z")).save([1])
    await YAMLDataset(filepath, version=Version(None, "2024-02-01T00.00.00.000Z")).save([2])
    assert await YAMLDataset(filepath, versioned=True).load() == [2]
    assert (filepath / "2024-01-01T00.00.00.000Z" / "params.yml").is_file()


def test_repr(tmp_path: Path) -> None:
    text = repr(YAMLDataset(tmp_path / "data.yml"))
    assert text.startswith(f"YAMLDataset(filepath='{tmp_path / 'data.yml'}'")
    assert "SafeLoader" in text
