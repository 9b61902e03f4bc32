"""JSONDataset: JSON-compatible data round-trips; json's options pass through."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop.datasets.file import Version
from pipeloop.datasets.json import JSONDataset
from pipeloop.errors import DatasetError, VersionError

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=25,
).filter(lambda value: value is not None)  # saving None is refused by every dataset


@settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=json_values)
async def test_round_trip_generated(tmp_path: Path, data: Any) -> None:
    dataset = JSONDataset(tmp_path / "data.json")
    await dataset.save(data)
    assert await dataset.load() == data


@pytest.mark.parametrize(
    "data", [[], {}, "", 0, False, {"name": "Zoë 漢字 🚀", "nested": [1, 2.5, None, True]}]
)
async def test_round_trip(tmp_path: Path, data: Any) -> None:
    dataset = JSONDataset(tmp_path / "data.json")
    await dataset.save(data)
    assert await dataset.load() == data


async def test_file_is_indented_utf8_json(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    await JSONDataset(path).save({"a": [1]})
    assert path.read_text(encoding="utf-8") == '{\n  "a": [\n    1\n  ]\n}'


async def test_save_args_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    dataset = JSONDataset(
        path, save_args={"indent": None, "sort_keys": True, "ensure_ascii": False}
    )
    await dataset.save({"b": "é", "a": 1})
    assert path.read_bytes() == '{"a": 1, "b": "é"}'.encode()


async def test_load_args_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"price": 0.1}')
    dataset = JSONDataset(path, load_args={"parse_float": Decimal})
    loaded = await dataset.load()
    assert loaded == {"price": Decimal("0.1")}
    assert isinstance(loaded["price"], Decimal)


async def test_invalid_json_is_a_dataset_error(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="Failed while loading") as info:
        await JSONDataset(path).load()
    assert str(path) in str(info.value)
    assert isinstance(info.value.__cause__, json.JSONDecodeError)


async def test_unserialisable_data_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    await JSONDataset(path).save({"version": 1})
    with pytest.raises(DatasetError, match="not JSON serializable"):
        await JSONDataset(path).save({"version": 2, "bad": {1, 2}})
    assert json.loads(path.read_text()) == {"version": 1}
    assert os.listdir(tmp_path) == ["data.json"]


async def test_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "data.json"
    await JSONDataset(path).save([1])
    assert json.loads(path.read_text()) == [1]


async def test_exists_and_release(tmp_path: Path) -> None:
    dataset = JSONDataset(tmp_path / "data.json")
    assert not await dataset.exists()
    await dataset.save([])
    assert await dataset.exists()
    await dataset.release()
    assert await dataset.load() == []


async def test_versioned(tmp_path: Path) -> None:
    filepath = tmp_path / "data.json"
    writer = JSONDataset(filepath, versioned=True)
    await writer.save({"n": 1})
    await writer.save({"n": 2})
    assert await JSONDataset(filepath, versioned=True).load() == {"n": 2}
    oldest = sorted(os.listdir(filepath))[0]
    assert await JSONDataset(filepath, version=Version(oldest, None)).load() == {"n": 1}
    with pytest.raises(VersionError, match="already exists"):
        await JSONDataset(filepath, version=Version(None, oldest)).save({"n": 3})


def test_repr(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    assert repr(JSONDataset(path)) == f"JSONDataset(filepath='{path}', save_args={{'indent': 2}})"
