"""File datasets on remote storage through fsspec: a local S3 server (moto) and
``memory://``."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pipeloop import DataCatalog
from pipeloop.datasets import JSONDataset, PickleDataset, TextDataset, Version
from pipeloop.datasets.remote import RemoteFiles, split_protocol
from pipeloop.errors import DatasetError, VersionError

S3Server = Any  # the s3_server fixture's type, conftest.S3Server (tests are not a package)


@pytest.fixture
def memory_root() -> str:
    """A fresh folder in fsspec's in-memory filesystem (shared by the whole process)."""
    return f"memory://pipeloop-tests/{uuid.uuid4().hex}"


def s3(server: S3Server, cls: type = JSONDataset, **kwargs: Any) -> Any:
    return cls(credentials=dict(server.credentials), fs_args=server.fs_args, **kwargs)


# --- the protocol split -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("filepath", "expected"),
    [
        ("s3://bucket/key.csv", ("s3", "bucket/key.csv")),
        ("GCS://b/k", ("gcs", "b/k")),
        ("data/local.csv", ("", "data/local.csv")),
        ("/abs/local.csv", ("", "/abs/local.csv")),
        ("C://odd", ("", "C://odd")),  # a drive letter, not a protocol
    ],
)
def test_split_protocol(filepath: str, expected: tuple[str, str]) -> None:
    assert split_protocol(filepath) == expected


def test_unknown_protocol_is_a_clear_dataset_error() -> None:
    with pytest.raises(DatasetError, match="nosuchproto"):
        JSONDataset("nosuchproto://bucket/data.json")


# --- memory:// ---------------------------------------------------------------------------


async def test_memory_round_trip(memory_root: str) -> None:
    dataset = JSONDataset(f"{memory_root}/data.json")
    assert dataset.protocol == "memory"
    assert await dataset.exists() is False
    await dataset.save({"a": [1, 2]})
    assert await dataset.exists() is True
    assert await dataset.load() == {"a": [1, 2]}
    assert repr(dataset) == f"JSONDataset(filepath='{memory_root}/data.json', " \
        "save_args={'indent': 2})"


async def test_memory_missing_file_names_the_url(memory_root: str) -> None:
    with pytest.raises(DatasetError, match="No file at") as info:
        await TextDataset(f"{memory_root}/none.txt").load()
    assert f"{memory_root}/none.txt" in str(info.value)


async def test_memory_versioned_layout_and_newest(memory_root: str) -> None:
    import fsspec

    filepath = f"{memory_root}/model.pkl"
    await PickleDataset(filepath, version=Version(None, "2024-01-01T00.00.00.000Z")).save(1)
    await PickleDataset(filepath, version=Version(None, "2024-01-02T00.00.00.000Z")).save(2)
    fs = fsspec.filesystem("memory")
    assert fs.isfile(f"{filepath}/2024-01-02T00.00.00.000Z/model.pkl")
    assert await PickleDataset(filepath, versioned=True).load() == 2
    pinned = PickleDataset(filepath, version=Version("2024-01-01T00.00.00.000Z", None))
    assert await pinned.load() == 1


async def test_memory_version_is_never_overwritten(memory_root: str) -> None:
    dataset = TextDataset(f"{memory_root}/notes.txt", version=Version(None, "v1"))
    await dataset.save("original")
    with pytest.raises(VersionError, match="already exists") as info:
        await TextDataset(f"{memory_root}/notes.txt", version=Version(None, "v1")).save("new")
    assert f"{memory_root}/notes.txt/v1/notes.txt" in str(info.value)
    assert await TextDataset(f"{memory_root}/notes.txt", versioned=True).load() == "original"


async def test_memory_no_versions_at_all(memory_root: str) -> None:
    dataset = TextDataset(f"{memory_root}/never.txt", versioned=True)
    assert await dataset.exists() is False
    with pytest.raises(VersionError, match="Did not find any versions"):
        await dataset.load()


async def test_pandas_on_memory(memory_root: str) -> None:
    pd = pytest.importorskip("pandas")
    from pipeloop.datasets.pandas import CSVDataset, ParquetDataset

    frame = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    for dataset in (CSVDataset(f"{memory_root}/f.csv.gz"), ParquetDataset(f"{memory_root}/f.pq")):
        await dataset.save(frame)
        pd.testing.assert_frame_equal(await dataset.load(), frame)


# --- s3:// against a local server --------------------------------------------------------


async def test_s3_round_trip(s3_server: S3Server, s3_bucket: str) -> None:
    dataset = s3(s3_server, filepath=f"s3://{s3_bucket}/folder/data.json")
    assert await dataset.exists() is False
    await dataset.save({"rows": [1, 2, 3]})
    assert await dataset.exists() is True
    assert await dataset.load() == {"rows": [1, 2, 3]}
    await dataset.save({"rows": []})
    assert await s3(s3_server, filepath=f"s3://{s3_bucket}/folder/data.json").load() == {
        "rows": []
    }


async def test_s3_versioned_save_and_load(s3_server: S3Server, s3_bucket: str) -> None:
    import s3fs

    filepath = f"s3://{s3_bucket}/scores.json"
    writer = s3(s3_server, filepath=filepath, versioned=True)
    await writer.save([1])
    await writer.save([2])
    fs = s3fs.S3FileSystem(**s3_server.credentials, **s3_server.fs_args)
    versions = sorted(path.rsplit("/", 1)[-1] for path in fs.ls(f"{s3_bucket}/scores.json"))
    assert len(versions) == 2
    assert fs.isfile(f"{s3_bucket}/scores.json/{versions[1]}/scores.json")  # Kedro's layout
    assert await s3(s3_server, filepath=filepath, versioned=True).load() == [2]
    old = s3(s3_server, filepath=filepath, version=Version(versions[0], None))
    assert await old.load() == [1]
    with pytest.raises(VersionError, match="already exists"):
        await s3(s3_server, filepath=filepath, version=Version(None, versions[0])).save([9])
    assert await old.load() == [1]


async def test_s3_concurrent_loads_and_saves(s3_server: S3Server, s3_bucket: str) -> None:
    import anyio

    datasets = [s3(s3_server, filepath=f"s3://{s3_bucket}/many/{n}.json") for n in range(20)]
    async with anyio.create_task_group() as group:
        for n, dataset in enumerate(datasets):
            group.start_soon(dataset.save, {"n": n})
    loaded: dict[int, Any] = {}

    async def load(n: int) -> None:
        loaded[n] = await datasets[n].load()

    async with anyio.create_task_group() as group:
        for n in range(20):
            group.start_soon(load, n)
    assert loaded == {n: {"n": n} for n in range(20)}


async def test_s3_bad_credentials_name_the_path(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import moto.settings

    good = s3(s3_server, filepath=f"s3://{s3_bucket}/secret.json")
    await good.save({"ok": True})
    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # check keys now
    bad = JSONDataset(
        f"s3://{s3_bucket}/secret.json",
        credentials={"key": "AKIA-NOT-A-KEY", "secret": "wrong-secret-value"},
        fs_args=s3_server.fs_args,
    )
    with pytest.raises(DatasetError, match="denied") as info:
        await bad.load()
    message = str(info.value)
    assert f"s3://{s3_bucket}/secret.json" in message
    assert "credentials" in message
    assert "wrong-secret-value" not in message
    with pytest.raises(DatasetError, match="denied"):
        await bad.save({"ok": False})


def test_credentials_never_appear_in_repr(s3_server: S3Server) -> None:
    dataset = JSONDataset(
        "s3://bucket/data.json",
        credentials={"key": "AKIA-VISIBLE?", "secret": "TOP-SECRET"},
        fs_args={"client_kwargs": {"endpoint_url": s3_server.endpoint_url},
                 "secret": "ALSO-SECRET"},
    )
    for text in (repr(dataset), str(dataset), str(dataset._describe())):
        assert "TOP-SECRET" not in text and "ALSO-SECRET" not in text
        assert "AKIA-VISIBLE?" not in text
        assert "s3://bucket/data.json" in text


async def test_catalog_entry_with_credentials_on_s3(s3_server: S3Server, s3_bucket: str) -> None:
    catalog = DataCatalog.from_config(
        {
            "scores": {
                "type": "json.JSONDataset",
                "filepath": f"s3://{s3_bucket}/catalog/scores.json",
                "credentials": "dev_s3",
                "fs_args": s3_server.fs_args,
            }
        },
        credentials={"dev_s3": dict(s3_server.credentials)},
    )
    await catalog.save("scores", [1, 2])
    assert await catalog.load("scores") == [1, 2]
    assert "testing-secret" not in repr(catalog)


async def test_s3_uses_the_async_api(
    s3_server: S3Server, s3_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """s3fs is driven through its coroutines, not its blocking twins in a thread."""
    import s3fs

    def blocked(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the blocking API was used")

    for name in ("cat_file", "pipe_file", "isfile"):
        monkeypatch.setattr(s3fs.S3FileSystem, name, blocked)
    dataset = s3(s3_server, filepath=f"s3://{s3_bucket}/async.json")
    await dataset.save([1])
    assert await dataset.exists()
    assert await dataset.load() == [1]


def test_remote_files_reports_a_missing_filesystem_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fsspec

    def missing(*args: Any, **kwargs: Any) -> None:
        raise ImportError("Install gcsfs to access Google Storage")

    monkeypatch.setattr(fsspec, "filesystem", missing)
    with pytest.raises(DatasetError, match="gcsfs"):
        RemoteFiles("gcs")
