"""What an atomic write replaces: symlinks, permissions, read-only files, special files, and
the temporary files a killed process leaves behind."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeloop.datasets.atomic import (
    TEMPORARY_SUFFIX,
    begin_write,
    is_temporary,
    remove_stale_temporaries,
    write_atomically,
)
from pipeloop.datasets.json import JSONDataset
from pipeloop.datasets.text import TextDataset
from pipeloop.errors import DatasetError

ROOT = os.geteuid() == 0
KilledWriter = Callable[..., Path]


def temporaries(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if is_temporary(name))


# --- the plain case ---------------------------------------------------------------------


def test_writes_new_file_with_umask_permissions(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "out.json"
    write_atomically(path, '{"a": 1}')
    assert path.read_text() == '{"a": 1}'
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask
    assert os.listdir(path.parent) == ["out.json"]


def test_replaces_with_a_new_inode(tmp_path: Path) -> None:
    """The old file is never truncated in place: a reader holding it sees old data."""
    path = tmp_path / "out.txt"
    path.write_text("old")
    with open(path) as reader:
        write_atomically(path, "new")
        assert reader.read() == "old"
    assert path.read_text() == "new"


def test_temporary_names_are_hidden_recognisable_and_keep_no_extension(tmp_path: Path) -> None:
    write = begin_write(tmp_path / "table.csv")
    try:
        name = write.path.name
        assert write.path.parent == tmp_path
        assert name.startswith(".table.csv.")
        assert name.endswith(TEMPORARY_SUFFIX)
        assert not name.endswith(".csv")
        assert is_temporary(name)
        assert not is_temporary("table.csv")
    finally:
        write.abort()
    assert os.listdir(tmp_path) == []


def test_exclusive_write_refuses_an_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    write_atomically(path, "first", exclusive=True)
    with pytest.raises(FileExistsError):
        write_atomically(path, "second", exclusive=True)
    assert path.read_text() == "first"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_exclusive_commit_loses_to_a_writer_that_published_first(tmp_path: Path) -> None:
    path = tmp_path / "out.txt"
    first = begin_write(path, exclusive=True)
    second = begin_write(path, exclusive=True)  # both began before either published
    first.path.write_text("first")
    second.path.write_text("second")
    first.commit()
    with pytest.raises(FileExistsError):
        second.commit()
    second.abort()
    assert path.read_text() == "first"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(IsADirectoryError):
        write_atomically(tmp_path / "out", "x")


# --- symlinks ---------------------------------------------------------------------------


def test_symlink_target_is_replaced_and_link_kept(tmp_path: Path) -> None:
    real = tmp_path / "real" / "data.txt"
    real.parent.mkdir()
    real.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    write_atomically(link, "new")
    assert link.is_symlink()
    assert real.read_text() == "new"
    assert os.listdir(tmp_path / "real") == ["data.txt"]
    assert sorted(os.listdir(tmp_path)) == ["link.txt", "real"]


def test_chain_of_relative_symlinks(tmp_path: Path) -> None:
    (tmp_path / "real.txt").write_text("old")
    (tmp_path / "b").symlink_to("real.txt")
    (tmp_path / "a").symlink_to("b")
    write_atomically(tmp_path / "a", "new")
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()
    assert (tmp_path / "real.txt").read_text() == "new"


def test_dangling_symlink_creates_its_target(tmp_path: Path) -> None:
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "later.txt")
    write_atomically(link, "made")
    assert link.is_symlink()
    assert (tmp_path / "later.txt").read_text() == "made"


async def test_dataset_saves_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "store" / "notes.txt"
    real.parent.mkdir()
    real.write_text("old")
    (tmp_path / "notes.txt").symlink_to(real)
    dataset = TextDataset(tmp_path / "notes.txt")
    await dataset.save("new")
    assert (tmp_path / "notes.txt").is_symlink()
    assert real.read_text() == "new"
    assert await dataset.load() == "new"


# --- permissions ------------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o604])
def test_mode_of_the_replaced_file_is_kept(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(mode)
    write_atomically(path, '{"token": 1}')
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert path.read_text() == '{"token": 1}'


async def test_dataset_keeps_a_0600_file_private(tmp_path: Path) -> None:
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0o600)
    await JSONDataset(path).save({"token": "x"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.skipif(not ROOT, reason="changing a file's owner needs root")
def test_owner_of_the_replaced_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "theirs.txt"
    path.write_text("old")
    os.chown(path, 4321, 4322)
    write_atomically(path, "new")
    found = path.stat()
    assert (found.st_uid, found.st_gid) == (4321, 4322)


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o000])
def test_read_only_file_is_refused_even_for_root(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "frozen.txt"
    path.write_text("keep me")
    path.chmod(mode)
    with pytest.raises(PermissionError, match="read-only") as info:
        write_atomically(path, "overwritten")
    assert str(path) in str(info.value)
    path.chmod(0o600)
    assert path.read_text() == "keep me"
    assert os.listdir(tmp_path) == ["frozen.txt"]


@pytest.mark.parametrize("failing", ["fchmod", "close"])
def test_a_temporary_whose_descriptor_fails_is_removed_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    # Another thread closing a number it no longer owns takes the temporary's descriptor:
    # the write fails with EBADF and must not leave the temporary for this process's life.
    path = tmp_path / "kept.json"
    path.write_text("[1]")
    real, close = getattr(os, failing), os.close

    def stolen(fd: int, *args: int) -> None:
        if TEMPORARY_SUFFIX in os.readlink(f"/proc/self/fd/{fd}"):
            close(fd)  # as the other thread did
            raise OSError(errno.EBADF, "Bad file descriptor (injected)")
        real(fd, *args)

    monkeypatch.setattr(os, failing, stolen)
    with pytest.raises(OSError, match="injected"):
        write_atomically(path, "[2]")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["kept.json"]
    assert path.read_text() == "[1]"


async def test_dataset_refuses_a_read_only_file(tmp_path: Path) -> None:
    path = tmp_path / "frozen.json"
    path.write_text("[1]")
    path.chmod(0o444)
    with pytest.raises(DatasetError, match="read-only") as info:
        await JSONDataset(path).save([2])
    assert str(path) in str(info.value)
    assert path.read_text() == "[1]"
    assert os.listdir(tmp_path) == ["frozen.json"]


def test_read_only_symlink_target_is_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.txt"
    real.write_text("keep me")
    real.chmod(0o444)
    (tmp_path / "link.txt").symlink_to(real)
    with pytest.raises(PermissionError, match="read-only"):
        write_atomically(tmp_path / "link.txt", "overwritten")
    assert real.read_text() == "keep me"


# --- special files ----------------------------------------------------------------------


async def test_fifo_is_written_in_place(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []

    def read() -> None:
        with open(fifo, "rb") as reader:
            received.append(reader.read())

    reader = threading.Thread(target=read)
    reader.start()
    try:
        await TextDataset(fifo).save("through the pipe")
    finally:
        reader.join(timeout=60)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert os.listdir(tmp_path) == ["pipe"]


@pytest.mark.skipif(not ROOT, reason="making a device node needs root")
async def test_device_is_written_in_place_not_replaced(tmp_path: Path) -> None:
    """A private copy of /dev/null (the same device numbers), so a bug cannot break the
    machine's own /dev/null."""
    null = tmp_path / "null"
    os.mknod(null, 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)
    await JSONDataset(null).save({"discarded": True})
    write_atomically(null, "also discarded")
    found = os.lstat(null)
    assert stat.S_ISCHR(found.st_mode)
    assert found.st_rdev == os.stat("/dev/null").st_rdev
    assert os.listdir(tmp_path) == ["null"]


_WRITE_TO_STDOUT = (
    "from pipeloop.datasets.atomic import write_atomically;"
    "write_atomically('/dev/stdout', 'to stdout\\n')"
)


def _python(code: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [sys.executable, "-c", code], env=env, check=True, timeout=60, **kwargs
    )


def test_dev_stdout_as_a_pipe() -> None:
    assert _python(_WRITE_TO_STDOUT, capture_output=True).stdout == b"to stdout\n"


def test_dev_stdout_redirected_to_a_file_appends_and_keeps_the_file(tmp_path: Path) -> None:
    log = tmp_path / "log.txt"
    log.write_text("before\n")
    inode = log.stat().st_ino
    with open(log, "ab") as output:
        _python(_WRITE_TO_STDOUT, stdout=output)
    assert log.read_text() == "before\nto stdout\n"
    assert log.stat().st_ino == inode  # written through fd 1, not renamed over
    assert os.listdir(tmp_path) == ["log.txt"]


# --- temporary files of killed processes ------------------------------------------------


async def test_next_save_removes_what_a_killed_process_left(
    tmp_path: Path, killed_writer: KilledWriter
) -> None:
    path = tmp_path / "data.json"
    path.write_text("[1]")
    left = killed_writer(path)
    assert temporaries(tmp_path) == [left.name]
    await JSONDataset(path).save([2])
    assert os.listdir(tmp_path) == ["data.json"]
    assert path.read_text().split() == ["[", "2", "]"]


def test_temporaries_of_running_processes_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    ours = begin_write(path)  # this process: perhaps a concurrent save
    try:
        write_atomically(path, "x")
        assert ours.path.exists()
    finally:
        ours.abort()


def test_only_this_files_temporaries_are_removed(
    tmp_path: Path, killed_writer: KilledWriter
) -> None:
    kept = killed_writer(tmp_path / "other.txt")
    removed = killed_writer(tmp_path / "data.txt")
    assert remove_stale_temporaries(tmp_path, "data.txt") == [removed]
    assert temporaries(tmp_path) == [kept.name]


def test_temporaries_from_another_host_are_kept(
    tmp_path: Path, killed_writer: KilledWriter
) -> None:
    """On a shared (network) folder a pid says nothing about another host's processes."""
    left = killed_writer(tmp_path / "data.txt")
    ours = left.name.split(".")[-2].split("-")[0]
    other = "0" * 8 if ours != "0" * 8 else "1" * 8
    foreign = left.with_name(left.name.replace(f".{ours}-", f".{other}-"))
    left.rename(foreign)
    write_atomically(tmp_path / "data.txt", "x")
    assert foreign.exists()
