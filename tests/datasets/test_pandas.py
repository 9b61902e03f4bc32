"""pipeloop.datasets.pandas: DataFrames in CSV and Parquet files (the [pandas] extra)."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pipeloop.datasets.file import Version
from pipeloop.errors import DatasetError


def test_missing_pandas_gives_install_advice() -> None:
    code = textwrap.dedent(
        """
        import sys
        sys.modules["pandas"] = None  # as if pandas were not installed
        try:
            import pipeloop.datasets.pandas
        except ImportError as exc:
            print(exc)
        else:
            raise SystemExit("imported without pandas")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert 'pip install "pipeloop[pandas]"' in result.stdout


@pytest.fixture
def pd() -> ModuleType:
    return pytest.importorskip("pandas")


@pytest.fixture
def frame(pd: ModuleType) -> Any:
    return pd.DataFrame(
        {"id": [1, 2, 3], "name": ["Ada", "Zoë 漢字", "🚀"], "score": [1.5, 2.25, -3.0]}
    )


@pytest.fixture
def parquet(pd: ModuleType) -> Any:
    pytest.importorskip("pyarrow")
    from pipeloop.datasets.pandas import ParquetDataset

    return ParquetDataset


async def test_csv_round_trip(tmp_path: Path, pd: ModuleType, frame: Any) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / "frame.csv"
    dataset = CSVDataset(path)
    await dataset.save(frame)
    assert path.read_text(encoding="utf-8").splitlines()[0] == "id,name,score"  # no index
    pd.testing.assert_frame_equal(await dataset.load(), frame, check_dtype=False)


async def test_csv_args_pass_through(tmp_path: Path, pd: ModuleType, frame: Any) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / "frame.csv"
    dataset = CSVDataset(
        path, save_args={"sep": ";", "index": True}, load_args={"sep": ";", "usecols": ["name"]}
    )
    await dataset.save(frame)
    assert path.read_text(encoding="utf-8").splitlines()[0] == ";id;name;score"
    loaded = await dataset.load()
    assert list(loaded.columns) == ["name"]
    assert list(loaded["name"]) == ["Ada", "Zoë 漢字", "🚀"]


async def test_csv_compression_follows_the_suffix(
    tmp_path: Path, pd: ModuleType, frame: Any
) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / "frame.csv.gz"
    dataset = CSVDataset(path)
    await dataset.save(frame)
    assert gzip.decompress(path.read_bytes()).startswith(b"id,name,score")
    pd.testing.assert_frame_equal(await dataset.load(), frame, check_dtype=False)
    assert os.listdir(tmp_path) == ["frame.csv.gz"]


@pytest.mark.parametrize(
    ("name", "opener"),
    [("frame.csv.bz2", "bz2"), ("frame.csv.xz", "lzma"), ("frame.tar.gz", "tarfile")],
)
async def test_csv_compression_survives_the_temporary_name(
    tmp_path: Path, pd: ModuleType, frame: Any, name: str, opener: str
) -> None:
    """The file is written under a temporary name without the suffix; the compression
    still follows the real name."""
    import importlib

    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / name
    await CSVDataset(path).save(frame)
    module = importlib.import_module(opener)
    if opener == "tarfile":
        with module.open(path, "r:gz") as archive:
            assert len(archive.getnames()) == 1
    else:
        assert module.decompress(path.read_bytes()).startswith(b"id,name,score")
    pd.testing.assert_frame_equal(await CSVDataset(path).load(), frame, check_dtype=False)
    assert os.listdir(tmp_path) == [name]


async def test_csv_empty_frame(tmp_path: Path, pd: ModuleType) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    dataset = CSVDataset(tmp_path / "empty.csv")
    await dataset.save(pd.DataFrame({"a": [], "b": []}))
    loaded = await dataset.load()
    assert list(loaded.columns) == ["a", "b"]
    assert len(loaded) == 0


async def test_csv_large_frame(tmp_path: Path, pd: ModuleType) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    frame = pd.DataFrame({"id": range(100_000), "half": [i / 2 for i in range(100_000)]})
    dataset = CSVDataset(tmp_path / "large.csv")
    await dataset.save(frame)
    pd.testing.assert_frame_equal(await dataset.load(), frame)


async def test_failed_write_keeps_old_file_and_no_temporary(
    tmp_path: Path, pd: ModuleType, frame: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / "frame.csv"
    path.write_text("old\n")

    def half_write(self: Any, path_or_buf: Any, **kwargs: Any) -> None:
        Path(path_or_buf).write_text("id,na")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_write)
    with pytest.raises(DatasetError, match="disk full"):
        await CSVDataset(path).save(frame)
    assert path.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["frame.csv"]


async def test_only_dataframes_are_saved(tmp_path: Path, pd: ModuleType) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / "frame.csv"
    with pytest.raises(DatasetError, match="saves a pandas DataFrame, not list"):
        await CSVDataset(path).save([1, 2])
    assert not path.exists()


async def test_csv_versioned(tmp_path: Path, pd: ModuleType, frame: Any) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    filepath = tmp_path / "frame.csv"
    await CSVDataset(filepath, version=Version(None, "v1")).save(frame.head(1))
    await CSVDataset(filepath, version=Version(None, "v2")).save(frame)
    assert len(await CSVDataset(filepath, versioned=True).load()) == 3
    assert len(await CSVDataset(filepath, version=Version("v1", None)).load()) == 1
    assert sorted(os.listdir(filepath / "v2")) == ["frame.csv"]


async def test_csv_exists_release_missing_and_repr(tmp_path: Path, pd: ModuleType) -> None:
    from pipeloop.datasets.pandas import CSVDataset

    path = tmp_path / "sub" / "frame.csv"
    dataset = CSVDataset(path)
    assert not await dataset.exists()
    with pytest.raises(DatasetError, match="No file at") as info:
        await dataset.load()
    assert str(path) in str(info.value)
    await dataset.save(pd.DataFrame({"a": [1]}))
    assert await dataset.exists()
    await dataset.release()
    assert list((await dataset.load())["a"]) == [1]
    assert repr(dataset) == f"CSVDataset(filepath='{path}', save_args={{'index': False}})"


async def test_parquet_round_trip_keeps_dtypes(
    tmp_path: Path, pd: ModuleType, frame: Any, parquet: Any
) -> None:
    dataset = parquet(tmp_path / "data" / "frame.parquet")
    await dataset.save(frame)
    pd.testing.assert_frame_equal(await dataset.load(), frame)
    assert os.listdir(tmp_path / "data") == ["frame.parquet"]


async def test_parquet_args_pass_through(
    tmp_path: Path, pd: ModuleType, frame: Any, parquet: Any
) -> None:
    path = tmp_path / "frame.parquet"
    dataset = parquet(path, save_args={"compression": "gzip"}, load_args={"columns": ["id"]})
    await dataset.save(frame)
    import pyarrow.parquet as pq

    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "GZIP"
    assert list((await dataset.load()).columns) == ["id"]


def test_parquet_refuses_partitioned_folders(tmp_path: Path, parquet: Any) -> None:
    with pytest.raises(DatasetError, match="partition_cols"):
        parquet(tmp_path / "x.parquet", save_args={"partition_cols": ["id"]})


async def test_parquet_versioned_and_repr(
    tmp_path: Path, pd: ModuleType, frame: Any, parquet: Any
) -> None:
    filepath = tmp_path / "frame.parquet"
    dataset = parquet(filepath, versioned=True)
    await dataset.save(frame)
    (version,) = os.listdir(filepath)
    assert os.listdir(filepath / version) == ["frame.parquet"]
    pd.testing.assert_frame_equal(await parquet(filepath, versioned=True).load(), frame)
    assert f"filepath='{filepath}'" in repr(dataset)
    assert "version=Version(load=None, save=None)" in repr(dataset)
