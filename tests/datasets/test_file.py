"""The shared file-dataset machinery: atomic saves, cancellation, versioning, describe."""

from __future__ import annotations

import asyncio
import errno
import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiofiles.os
import aiofiles.threadpool.binary
import anyio
import pytest

import pipeloop.datasets.file
from pipeloop.datasets.atomic import is_temporary
from pipeloop.datasets.file import (
    VERSION_FORMAT,
    VERSION_PATTERN,
    AbstractBytesFileDataset,
    AbstractFileDataset,
    Version,
    generate_timestamp,
)
from pipeloop.datasets.json import JSONDataset
from pipeloop.errors import DatasetError, VersionError

TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z$")


class BytesDataset(AbstractBytesFileDataset):
    """The smallest file dataset: the file's bytes, as they are."""

    def _deserialise(self, content: bytes) -> bytes:
        return content

    def _serialise(self, data: Any) -> bytes:
        return bytes(data)


class SmallChunkDataset(BytesDataset):
    _WRITE_CHUNK_SIZE = 3


class StallingDataset(BytesDataset):
    """Writes part of the data, then waits forever: a save that can be cancelled mid-write."""

    def __init__(self, filepath: Path) -> None:
        super().__init__(filepath)
        self.writing = anyio.Event()

    async def _write_content(self, file: Any, content: bytes) -> None:
        await file.write(content[:2])
        self.writing.set()
        await anyio.sleep_forever()


class FailingDiskDataset(BytesDataset):
    async def _write_content(self, file: Any, content: bytes) -> None:
        await file.write(content[:2])
        raise OSError(errno.ENOSPC, "No space left on device")


def temporary_files(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if is_temporary(name))


# --- plain files -------------------------------------------------------------------------


async def test_round_trip_writes_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    dataset = BytesDataset(path)
    await dataset.save(b"\x00\x01payload\xff")
    assert path.read_bytes() == b"\x00\x01payload\xff"
    assert await dataset.load() == b"\x00\x01payload\xff"


async def test_chunked_write_keeps_every_byte(tmp_path: Path) -> None:
    dataset = SmallChunkDataset(tmp_path / "data.bin")
    payload = bytes(range(256)) * 5  # many chunks of 3 bytes, the last one short
    await dataset.save(payload)
    assert await dataset.load() == payload


async def test_save_fsyncs_before_replacing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.bin"
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}") if os.path.isdir("/proc") else "?")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    await BytesDataset(path).save(b"durable")
    assert len(synced) == 1
    assert synced[0] == "?" or os.path.basename(synced[0]).startswith(".data.bin.")


async def test_save_creates_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "c" / "data.bin"
    await BytesDataset(path).save(b"deep")
    assert path.read_bytes() == b"deep"


async def test_save_replaces_previous_content(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    dataset = BytesDataset(path)
    await dataset.save(b"a much longer first version")
    await dataset.save(b"short")
    assert path.read_bytes() == b"short"
    assert os.listdir(tmp_path) == ["data.bin"]


async def test_missing_file_is_a_dataset_error_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.bin"
    with pytest.raises(DatasetError, match="No file at") as info:
        await BytesDataset(path).load()
    assert str(path) in str(info.value)
    assert not isinstance(info.value, VersionError)


async def test_exists_follows_the_file(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    dataset = BytesDataset(path)
    assert await dataset.exists() is False
    await dataset.save(b"x")
    assert await dataset.exists() is True
    path.unlink()
    assert await dataset.exists() is False


async def test_exists_is_false_for_a_folder(tmp_path: Path) -> None:
    (tmp_path / "folder.bin").mkdir()
    assert await BytesDataset(tmp_path / "folder.bin").exists() is False


async def test_release_keeps_the_file(tmp_path: Path) -> None:
    dataset = BytesDataset(tmp_path / "data.bin")
    await dataset.save(b"kept")
    await dataset.release()
    assert await dataset.load() == b"kept"


async def test_saving_none_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with pytest.raises(DatasetError, match="None"):
        await BytesDataset(path).save(None)
    assert path.read_bytes() == b"old"


def test_file_datasets_are_persistent(tmp_path: Path) -> None:
    assert BytesDataset(tmp_path / "x").persistent is True


def test_file_protocol_prefix_is_a_local_path(tmp_path: Path) -> None:
    dataset = BytesDataset(f"file://{tmp_path}/data.bin")
    assert dataset.filepath == tmp_path / "data.bin"


@pytest.mark.parametrize("base", [AbstractFileDataset, AbstractBytesFileDataset])
def test_the_bases_are_abstract(tmp_path: Path, base: type) -> None:
    with pytest.raises(TypeError, match="abstract"):
        base(tmp_path / "x")


# --- atomic saves -----------------------------------------------------------------------


async def test_failed_serialisation_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text('{"old": true}')
    with pytest.raises(DatasetError, match="not JSON serializable"):
        await JSONDataset(path).save({"bad": object()})
    assert path.read_text() == '{"old": true}'
    assert os.listdir(tmp_path) == ["data.json"]


async def test_disk_error_mid_write_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with pytest.raises(DatasetError, match="No space left") as info:
        await FailingDiskDataset(path).save(b"new content")
    assert "FailingDiskDataset(filepath=" in str(info.value)
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


async def test_cancelled_save_leaves_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    dataset = StallingDataset(path)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(dataset.save, b"new content")
            await dataset.writing.wait()
            # The save really is half-way: its temporary file holds the first bytes.
            (temporary,) = temporary_files(tmp_path)
            assert temporary.startswith(".data.bin.")
            assert (tmp_path / temporary).read_bytes() in (b"", b"ne")
            group.cancel_scope.cancel()
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


async def test_cancelled_save_cleans_up_even_when_cleanup_is_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing and removing the temporary file must not be cancelled themselves."""
    real_close = aiofiles.threadpool.binary.AsyncBufferedIOBase.close
    real_remove = aiofiles.os.remove
    closed: list[bool] = []

    async def slow_close(self: Any) -> None:
        await anyio.sleep(0.01)
        await real_close(self)
        closed.append(True)

    async def slow_remove(path: Any) -> None:
        await anyio.sleep(0.01)
        await real_remove(path)

    monkeypatch.setattr(aiofiles.threadpool.binary.AsyncBufferedIOBase, "close", slow_close)
    monkeypatch.setattr(aiofiles.os, "remove", slow_remove)
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    dataset = StallingDataset(path)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(dataset.save, b"new content")
            await dataset.writing.wait()
            group.cancel_scope.cancel()
    assert closed == [True]
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


async def test_natively_cancelled_save_cleans_up(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    dataset = StallingDataset(path)
    task = asyncio.create_task(dataset.save(b"new content"))
    with anyio.fail_after(10):
        await dataset.writing.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


async def test_cancelled_aiofiles_write_cleans_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same guarantee for a real dataset, stalling aiofiles' own write."""
    path = tmp_path / "data.json"
    path.write_text("[1]")
    writing = anyio.Event()

    async def stalled_write(self: Any, data: Any) -> int:
        writing.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    monkeypatch.setattr(aiofiles.threadpool.binary.AsyncBufferedIOBase, "write", stalled_write)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as group:
            group.start_soon(JSONDataset(path).save, [1, 2, 3])
            await writing.wait()
            assert len(temporary_files(tmp_path)) == 1
            group.cancel_scope.cancel()
    assert path.read_text() == "[1]"
    assert os.listdir(tmp_path) == ["data.json"]


async def test_failed_replace_removes_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")

    def refuse(src: Any, dst: Any) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(DatasetError, match="Permission denied"):
        await BytesDataset(path).save(b"new")
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["data.bin"]


# --- versions ---------------------------------------------------------------------------


def test_generate_timestamp_is_utc_now_in_version_format() -> None:
    stamp = generate_timestamp()
    assert TIMESTAMP_RE.match(stamp)
    assert VERSION_PATTERN.fullmatch(stamp)
    moment = datetime.strptime(stamp, VERSION_FORMAT).replace(tzinfo=UTC)
    assert abs(datetime.now(tz=UTC) - moment) < timedelta(seconds=5)


def test_version_is_a_named_tuple() -> None:
    version = Version(load="a", save="b")
    assert version == ("a", "b")
    assert (version.load, version.save) == ("a", "b")


async def test_versioned_layout_on_disk(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, versioned=True)
    await dataset.save(b"v1")
    (version,) = os.listdir(filepath)
    assert TIMESTAMP_RE.match(version)
    assert os.listdir(filepath / version) == ["data.bin"]
    assert (filepath / version / "data.bin").read_bytes() == b"v1"


async def test_newest_version_wins(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, versioned=True)
    await dataset.save(b"first")
    await dataset.save(b"second")  # at once: the timestamps must still differ
    versions = sorted(os.listdir(filepath))
    assert len(versions) == 2
    assert all(TIMESTAMP_RE.match(version) for version in versions)
    assert await dataset.load() == b"second"
    assert await BytesDataset(filepath, versioned=True).load() == b"second"
    assert await dataset.resolve_load_version() == versions[-1]


async def test_saves_in_the_same_millisecond_get_distinct_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen = "2024-01-01T00.00.00.999Z"
    monkeypatch.setattr(pipeloop.datasets.file, "generate_timestamp", lambda: frozen)
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, versioned=True)
    await dataset.save(b"first")
    await dataset.save(b"second")
    assert sorted(os.listdir(filepath)) == [frozen, "2024-01-01T00.00.01.000Z"]
    assert await dataset.load() == b"second"


async def test_newest_is_by_version_order_not_save_order(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    await BytesDataset(filepath, version=Version(None, "2024-01-02T00.00.00.000Z")).save(b"new")
    await BytesDataset(filepath, version=Version(None, "2024-01-01T00.00.00.000Z")).save(b"old")
    assert await BytesDataset(filepath, versioned=True).load() == b"new"


async def test_pinned_load_version(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    await BytesDataset(filepath, version=Version(None, "v1")).save(b"one")
    await BytesDataset(filepath, version=Version(None, "v2")).save(b"two")
    pinned = BytesDataset(filepath, version=Version("v1", None))
    assert await pinned.load() == b"one"
    assert await pinned.resolve_load_version() == "v1"


async def test_missing_pinned_version_is_a_version_error(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    await BytesDataset(filepath, version=Version(None, "v1")).save(b"one")
    pinned = BytesDataset(filepath, version=Version("v9", None))
    with pytest.raises(VersionError, match="Version 'v9'") as info:
        await pinned.load()
    assert str(filepath / "v9" / "data.bin") in str(info.value)
    assert await pinned.exists() is False


async def test_no_versions_at_all(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, versioned=True)
    assert await dataset.exists() is False
    with pytest.raises(VersionError, match="Did not find any versions") as info:
        await dataset.load()
    assert str(filepath) in str(info.value)


async def test_saving_onto_an_existing_version_is_refused(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, version=Version(None, "v1"))
    await dataset.save(b"original")
    with pytest.raises(VersionError, match="already exists"):
        await dataset.save(b"overwrite")
    with pytest.raises(VersionError, match="already exists"):
        await BytesDataset(filepath, version=Version(None, "v1")).save(b"overwrite")
    assert (filepath / "v1" / "data.bin").read_bytes() == b"original"
    assert os.listdir(filepath / "v1") == ["data.bin"]


async def test_one_save_version_shared_by_datasets(tmp_path: Path) -> None:
    """What a catalog does: one save version for every versioned dataset of a run."""
    run_version = generate_timestamp()
    first = BytesDataset(tmp_path / "a.bin", version=Version(None, run_version))
    second = BytesDataset(tmp_path / "b.bin", version=Version(None, run_version))
    await first.save(b"a")
    await second.save(b"b")
    assert os.listdir(tmp_path / "a.bin") == [run_version]
    assert os.listdir(tmp_path / "b.bin") == [run_version]
    assert first.resolve_save_version() == run_version


def test_resolve_save_version_is_stable_until_a_save(tmp_path: Path) -> None:
    dataset = BytesDataset(tmp_path / "data.bin", versioned=True)
    version = dataset.resolve_save_version()
    assert version is not None and TIMESTAMP_RE.match(version)
    assert dataset.resolve_save_version() == version


async def test_save_uses_the_resolved_save_version(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, versioned=True)
    version = dataset.resolve_save_version()
    await dataset.save(b"x")
    assert os.listdir(filepath) == [version]
    assert dataset.resolve_save_version() != version


async def test_unversioned_datasets_resolve_no_versions(tmp_path: Path) -> None:
    dataset = BytesDataset(tmp_path / "data.bin")
    assert dataset.resolve_save_version() is None
    assert await dataset.resolve_load_version() is None
    assert dataset.version is None
    assert dataset.versioned is False


async def test_load_version_is_remembered_until_release(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    await BytesDataset(filepath, version=Version(None, "v1")).save(b"one")
    reader = BytesDataset(filepath, versioned=True)
    assert await reader.load() == b"one"
    await BytesDataset(filepath, version=Version(None, "v2")).save(b"two")
    assert await reader.load() == b"one"  # one run reads one version
    await reader.release()
    assert await reader.load() == b"two"


async def test_exists_for_versioned_datasets(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    dataset = BytesDataset(filepath, versioned=True)
    assert await dataset.exists() is False
    await dataset.save(b"x")
    assert await dataset.exists() is True
    assert await BytesDataset(filepath, version=Version("nope", None)).exists() is False


async def test_failed_versioned_save_leaves_no_version_file(tmp_path: Path) -> None:
    filepath = tmp_path / "data.json"
    dataset = JSONDataset(filepath, version=Version(None, "v1"))
    with pytest.raises(DatasetError):
        await dataset.save({"bad": object()})
    assert not (filepath / "v1" / "data.json").exists()
    await dataset.save({"good": 1})  # the version was not taken by the failed save
    assert await dataset.load() == {"good": 1}


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "a\\b", "../escape"])
def test_invalid_versions_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(VersionError, match="Invalid save version"):
        BytesDataset(tmp_path / "x", version=Version(None, bad))
    with pytest.raises(VersionError, match="Invalid load version"):
        BytesDataset(tmp_path / "x", version=Version(bad, None))


# --- describe ---------------------------------------------------------------------------


def test_repr_shows_the_path(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    assert repr(BytesDataset(path)) == f"BytesDataset(filepath='{path}')"
    assert str(BytesDataset(path)) == repr(BytesDataset(path))


def test_repr_shows_the_version_when_versioned(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    text = repr(BytesDataset(path, version=Version("v1", None)))
    assert f"filepath='{path}'" in text
    assert "version=Version(load='v1', save=None)" in text
    assert "version=" not in repr(BytesDataset(path))


def test_repr_hides_secrets(tmp_path: Path) -> None:
    dataset = BytesDataset(
        tmp_path / "x",
        load_args={"storage_options": {"key": "AKIA-SECRET"}, "sep": ";"},
    )
    text = repr(dataset)
    assert "AKIA-SECRET" not in text
    assert "'storage_options': '***'" in text
    assert "'sep': ';'" in text


def test_args_are_copied_from_the_caller(tmp_path: Path) -> None:
    args = {"nested": {"a": 1}}
    dataset = BytesDataset(tmp_path / "x", save_args=args)
    args["nested"]["a"] = 2
    assert "'a': 1" in repr(dataset)


def test_metadata_is_kept(tmp_path: Path) -> None:
    assert BytesDataset(tmp_path / "x", metadata={"owner": "me"}).metadata == {"owner": "me"}


# --- data safety: concurrent and killed versioned saves ----------------------------------


class MeetingDataset(BytesDataset):
    """Holds its save after writing the temporary file until every partner has written
    theirs: saves that all passed any "does the version exist?" check before one publishes."""

    def __init__(self, filepath: Path, version: Version, meeting: list[Any]) -> None:
        super().__init__(filepath, version=version)
        self._meeting = meeting  # [arrived count, expected count, all-arrived event]

    async def _write_content(self, file: Any, content: bytes) -> None:
        await super()._write_content(file, content)
        self._meeting[0] += 1
        if self._meeting[0] == self._meeting[1]:
            self._meeting[2].set()
        await self._meeting[2].wait()


async def test_concurrent_saves_of_one_version_have_exactly_one_winner(tmp_path: Path) -> None:
    filepath = tmp_path / "data.bin"
    meeting: list[Any] = [0, 2, anyio.Event()]
    version = Version(None, "2024-01-01T00.00.00.000Z")
    outcomes: dict[bytes, BaseException | None] = {}

    async def save(payload: bytes) -> None:
        try:
            await MeetingDataset(filepath, version, meeting).save(payload)
        except VersionError as exc:
            outcomes[payload] = exc
        else:
            outcomes[payload] = None

    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            group.start_soon(save, b"first")
            group.start_soon(save, b"second")
    winners = [payload for payload, error in outcomes.items() if error is None]
    losers = [error for error in outcomes.values() if error is not None]
    assert len(winners) == 1 and len(losers) == 1
    assert "already exists" in str(losers[0])
    assert (filepath / version.save / "data.bin").read_bytes() == winners[0]
    assert os.listdir(filepath) == [version.save]  # no temporary left by the loser
    assert os.listdir(filepath / version.save) == ["data.bin"]


async def test_concurrent_saves_in_processes_have_exactly_one_winner(tmp_path: Path) -> None:
    """The claim holds across processes, which share no memory: four start together."""
    filepath = tmp_path / "data.txt"
    start = tmp_path / "start"
    script = (
        "import asyncio, os, sys, time\n"
        "from pipeloop.datasets.text import TextDataset\n"
        "from pipeloop.datasets.file import Version\n"
        "from pipeloop.errors import VersionError\n"
        "while not os.path.exists(sys.argv[2]): time.sleep(0.001)\n"
        "try:\n"
        "    asyncio.run(TextDataset(sys.argv[1], version=Version(None, 'v1')).save(sys.argv[3]))\n"
        "    print('won')\n"
        "except VersionError:\n"
        "    print('lost')\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    processes = [
        await anyio.open_process(
            [sys.executable, "-c", script, str(filepath), str(start), f"p{n}"],
            env=env,
        )
        for n in range(4)
    ]
    start.touch()
    results = []
    with anyio.fail_after(120):
        for process in processes:
            assert process.stdout is not None
            results.append((await process.stdout.receive()).decode().strip())
            await process.wait()
            await process.aclose()
    assert sorted(results) == ["lost", "lost", "lost", "won"]
    assert (filepath / "v1" / "data.txt").read_text() == f"p{results.index('won')}"
    assert os.listdir(filepath) == ["v1"]


async def test_failed_versioned_save_leaves_no_version_folder(tmp_path: Path) -> None:
    filepath = tmp_path / "data.json"
    with pytest.raises(DatasetError, match="No space left"):
        await FailingDiskDataset(filepath, version=Version(None, "v1")).save(b"new content")
    assert os.listdir(filepath) == []


async def test_next_versioned_save_removes_what_a_killed_one_left(
    tmp_path: Path, killed_writer: Any
) -> None:
    filepath = tmp_path / "data.json"
    dataset = JSONDataset(filepath, versioned=True)
    await dataset.save([1])
    # What a save killed mid-write leaves: a temporary file in the folder of versions.
    left = killed_writer(filepath / "2099-01-01T00.00.00.000Z" / "data.json", staging=filepath)
    assert left.parent == filepath
    assert await JSONDataset(filepath, versioned=True).load() == [1]  # not a version
    await dataset.save([2])
    assert not left.exists()
    assert all(TIMESTAMP_RE.match(name) for name in os.listdir(filepath))
