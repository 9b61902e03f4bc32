"""TextDataset: str in, the same str out, in the encoding asked for."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop.datasets.file import Version
from pipeloop.datasets.text import TextDataset
from pipeloop.errors import DatasetError


@pytest.mark.parametrize(
    "text",
    ["hello", "", "héllo wörld — ñ 漢字 🚀", "line 1\r\nline 2\nline 3\r", "\x00\t trailing \n"],
)
async def test_round_trip(tmp_path: Path, text: str) -> None:
    dataset = TextDataset(tmp_path / "notes.txt")
    await dataset.save(text)
    assert await dataset.load() == text


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text())
async def test_round_trip_any_text(tmp_path: Path, text: str) -> None:
    dataset = TextDataset(tmp_path / "any.txt")
    await dataset.save(text)
    assert await dataset.load() == text


async def test_default_encoding_is_utf8_without_newline_translation(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    await TextDataset(path).save("é\r\n")
    assert path.read_bytes() == "é\r\n".encode()


async def test_encoding_in_load_and_save_args(tmp_path: Path) -> None:
    path = tmp_path / "latin.txt"
    dataset = TextDataset(
        path, load_args={"encoding": "latin-1"}, save_args={"encoding": "latin-1"}
    )
    await dataset.save("café")
    assert path.read_bytes() == b"caf\xe9"
    assert await dataset.load() == "café"


async def test_decode_errors_option(tmp_path: Path) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(b"ok \xff end")
    with pytest.raises(DatasetError, match="can't decode"):
        await TextDataset(path).load()
    lenient = TextDataset(path, load_args={"errors": "replace"})
    assert await lenient.load() == "ok \ufffd end"


async def test_encode_errors_option(tmp_path: Path) -> None:
    path = tmp_path / "ascii.txt"
    dataset = TextDataset(path, save_args={"encoding": "ascii", "errors": "replace"})
    await dataset.save("naïve")
    assert path.read_bytes() == b"na?ve"


async def test_saving_non_str_is_refused_and_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("old")
    with pytest.raises(DatasetError, match="saves str only, not int") as info:
        await TextDataset(path).save(42)
    assert str(path) in str(info.value)
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["notes.txt"]


async def test_unencodable_text_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("old")
    with pytest.raises(DatasetError, match="codec can't encode"):
        await TextDataset(path, save_args={"encoding": "ascii"}).save("ünïcode")
    assert path.read_text() == "old"
    assert os.listdir(tmp_path) == ["notes.txt"]


async def test_parent_folders_are_created(tmp_path: Path) -> None:
    path = tmp_path / "x" / "y" / "notes.txt"
    await TextDataset(path).save("deep")
    assert path.read_text() == "deep"


async def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.txt"
    with pytest.raises(DatasetError, match="No file at") as info:
        await TextDataset(path).load()
    assert str(path) in str(info.value)


async def test_exists_and_release(tmp_path: Path) -> None:
    dataset = TextDataset(tmp_path / "notes.txt")
    assert not await dataset.exists()
    await dataset.save("x")
    assert await dataset.exists()
    await dataset.release()
    assert await dataset.exists()
    assert await dataset.load() == "x"


async def test_versioned_round_trip(tmp_path: Path) -> None:
    filepath = tmp_path / "notes.txt"
    await TextDataset(filepath, version=Version(None, "v1")).save("one")
    await TextDataset(filepath, version=Version(None, "v2")).save("two")
    assert await TextDataset(filepath, versioned=True).load() == "two"
    assert await TextDataset(filepath, version=Version("v1", None)).load() == "one"
    assert (filepath / "v1" / "notes.txt").read_text() == "one"


def test_repr(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    text = repr(TextDataset(path))
    assert text.startswith(f"TextDataset(filepath='{path}'")
    assert "'encoding': 'utf-8'" in text
