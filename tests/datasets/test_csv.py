"""CSVDataset (stdlib csv): a list of dicts round-trips; csv's options pass through."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop.datasets.csv import CSVDataset
from pipeloop.datasets.file import Version
from pipeloop.errors import DatasetError

ROWS = [
    {"name": "Ada", "city": "London", "note": ""},
    {"name": "Zoë 漢字 🚀", "city": "Zürich, CH", "note": 'says "hi"\non two lines'},
]


async def test_round_trip(tmp_path: Path) -> None:
    dataset = CSVDataset(tmp_path / "people.csv")
    await dataset.save(ROWS)
    assert await dataset.load() == ROWS


async def test_empty_list_round_trips_as_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    dataset = CSVDataset(path)
    await dataset.save([])
    assert path.read_bytes() == b""
    assert await dataset.load() == []


async def test_header_only_file_loads_as_empty_list(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    await CSVDataset(path, save_args={"fieldnames": ["a", "b"]}).save([])
    assert path.read_bytes() == b"a,b\r\n"
    assert await CSVDataset(path).load() == []


cells = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"))


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=st.lists(st.fixed_dictionaries({"key": cells.filter(bool), "value": cells}), min_size=1)
)
async def test_round_trip_generated(tmp_path: Path, rows: list[dict[str, str]]) -> None:
    dataset = CSVDataset(tmp_path / "gen.csv")
    await dataset.save(rows)
    assert await dataset.load() == rows


async def test_large_file(tmp_path: Path) -> None:
    rows = [{"id": str(i), "square": str(i * i), "label": f"row-{i}"} for i in range(100_000)]
    dataset = CSVDataset(tmp_path / "large.csv")
    await dataset.save(rows)
    loaded = await dataset.load()
    assert len(loaded) == 100_000
    assert loaded == rows


async def test_values_load_as_strings(tmp_path: Path) -> None:
    dataset = CSVDataset(tmp_path / "typed.csv")
    await dataset.save([{"n": 1, "x": 2.5, "flag": True, "missing": None}])
    assert await dataset.load() == [{"n": "1", "x": "2.5", "flag": "True", "missing": ""}]


async def test_columns_are_the_union_of_keys_in_order(tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    dataset = CSVDataset(path)
    await dataset.save([{"a": 1, "b": 2}, {"c": 3, "a": 4}])
    assert path.read_text().splitlines() == ["a,b,c", "1,2,", "4,,3"]
    assert await dataset.load() == [{"a": "1", "b": "2", "c": ""}, {"a": "4", "b": "", "c": "3"}]


async def test_save_args_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    dataset = CSVDataset(
        path,
        save_args={"delimiter": ";", "lineterminator": "\n", "fieldnames": ["b", "a"]},
        load_args={"delimiter": ";"},
    )
    await dataset.save([{"a": 1, "b": 2}])
    assert path.read_text() == "b;a\n2;1\n"
    assert await dataset.load() == [{"b": "2", "a": "1"}]


async def test_fieldnames_refuse_extra_keys_like_dictwriter(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_text("old")
    with pytest.raises(DatasetError, match="dict contains fields not in fieldnames"):
        await CSVDataset(path, save_args={"fieldnames": ["a"]}).save([{"a": 1, "b": 2}])
    assert path.read_text() == "old"


async def test_headerless_files(tmp_path: Path) -> None:
    path = tmp_path / "raw.csv"
    await CSVDataset(path, save_args={"header": False}).save([{"a": 1, "b": 2}])
    assert path.read_bytes() == b"1,2\r\n"
    reader = CSVDataset(path, load_args={"fieldnames": ["x", "y"]})
    assert await reader.load() == [{"x": "1", "y": "2"}]


async def test_encoding(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    dataset = CSVDataset(
        path, save_args={"encoding": "utf-8-sig"}, load_args={"encoding": "utf-8-sig"}
    )
    await dataset.save([{"name": "é"}])
    assert path.read_bytes() == "\ufeffname\r\né\r\n".encode()
    assert await dataset.load() == [{"name": "é"}]


@pytest.mark.parametrize("data", [{"a": 1}, ["a", "b"], [{"a": 1}, ("x", "y")]])
async def test_rows_must_be_dicts_and_old_file_is_kept(tmp_path: Path, data: object) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\r\nold\r\n")
    with pytest.raises(DatasetError, match="saves a list of dicts; row") as info:
        await CSVDataset(path).save(data)
    assert str(path) in str(info.value)
    assert path.read_bytes() == b"a\r\nold\r\n"
    assert os.listdir(tmp_path) == ["data.csv"]


async def test_exists_release_and_parents(tmp_path: Path) -> None:
    dataset = CSVDataset(tmp_path / "a" / "b" / "data.csv")
    assert not await dataset.exists()
    await dataset.save([{"a": "1"}])
    assert await dataset.exists()
    await dataset.release()
    assert await dataset.load() == [{"a": "1"}]


async def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    with pytest.raises(DatasetError, match="No file at") as info:
        await CSVDataset(path).load()
    assert str(path) in str(info.value)


async def test_versioned(tmp_path: Path) -> None:
    filepath = tmp_path / "data.csv"
    dataset = CSVDataset(filepath, versioned=True)
    await dataset.save([{"n": "1"}])
    await dataset.save([{"n": "2"}])
    assert await CSVDataset(filepath, versioned=True).load() == [{"n": "2"}]
    first = sorted(os.listdir(filepath))[0]
    assert await CSVDataset(filepath, version=Version(first, None)).load() == [{"n": "1"}]


def test_repr(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    text = repr(CSVDataset(path, save_args={"delimiter": ";"}))
    assert text.startswith(f"CSVDataset(filepath='{path}'")
    assert "'delimiter': ';'" in text
