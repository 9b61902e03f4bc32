"""``AbstractFileDataset``: one local file, read and written without blocking the event loop.

Every file dataset (text, JSON, YAML, pickle, CSV, and the pandas ones) shares what lives
here:

- **Non-blocking I/O.** Bytes move through aiofiles; turning them into data and back
  (``_deserialise``/``_serialise``) runs in a worker thread, so neither a slow disk nor a
  large document stalls the loop. Libraries that want a path (pandas) run in a worker
  thread too.
- **Atomic saves** (:mod:`pipeloop.datasets.atomic`). Data goes to a hidden temporary file
  next to the target, is fsynced, then renamed over the target. A save that fails or is
  cancelled leaves the previous file as it was and removes the temporary file; one killed
  outright leaves a temporary file that the dataset's next save removes. A symlink's target
  is replaced (the link stays), permissions are kept, a read-only file is refused, and
  devices and FIFOs (``/dev/null``, ``/dev/stdout``) are written in place.
- **Versioning**, in Kedro's layout: with ``versioned=True`` (or a ``version``), each save
  writes ``<filepath>/<version>/<basename>``, where a version is a UTC timestamp such as
  ``2024-05-01T09.30.12.345Z``. Loads take the newest version unless one is pinned. A
  version once written is never overwritten: a save claims it with a hard link, which only
  one of two racing saves (in any processes) can make; the other gets ``VersionError``.

A format that makes bytes in memory subclasses :class:`AbstractBytesFileDataset` and
implements ``_serialise``/``_deserialise``; one whose library wants a path subclasses
:class:`AbstractFileDataset` and implements ``_read``/``_write`` (see
``_write_path_atomically``).
"""

from __future__ import annotations

import abc
import copy
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import aiofiles
import aiofiles.os
import anyio
import anyio.to_thread
from aiofiles.threadpool.binary import AsyncBufferedIOBase

from pipeloop.datasets.atomic import AtomicWrite, begin_write
from pipeloop.datasets.base import AbstractDataset
from pipeloop.errors import DatasetError, VersionError

__all__ = [
    "VERSION_FORMAT",
    "VERSION_PATTERN",
    "AbstractBytesFileDataset",
    "AbstractFileDataset",
    "Version",
    "generate_timestamp",
]

VERSION_FORMAT = "%Y-%m-%dT%H.%M.%S.%fZ"
"""``strftime`` format of generated versions (``%f`` is cut to milliseconds)."""

VERSION_PATTERN = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z")
"""Matches a version made by :func:`generate_timestamp`."""

# Keys whose values never appear in ``repr`` or logs.
_SECRET_KEYS = frozenset({"credentials", "password", "secret", "storage_options", "token"})


class Version(NamedTuple):
    """Which versions a versioned dataset loads and saves (Kedro's ``Version``).

    Attributes:
        load: the version to load; ``None`` loads the newest one on disk.
        save: the version to save; ``None`` generates a new timestamp for each save. A
            catalog passes one save version to every versioned dataset of a run.
    """

    load: str | None
    save: str | None


def generate_timestamp() -> str:
    """The current UTC time as a version string, such as ``2024-05-01T09.30.12.345Z``.

    Versions made this way sort in time order as plain strings, which is how the newest
    version on disk is found.
    """
    return _format_timestamp(datetime.now(tz=UTC))


def _format_timestamp(moment: datetime) -> str:
    return moment.strftime(VERSION_FORMAT)[:-4] + "Z"  # microseconds -> milliseconds


def _timestamp_after(previous: str | None) -> str:
    """A fresh timestamp, later than ``previous`` even if the clock has not moved on."""
    stamp = generate_timestamp()
    if previous is None or stamp > previous:
        return stamp
    moment = datetime.strptime(previous, VERSION_FORMAT).replace(tzinfo=UTC)
    return _format_timestamp(moment + timedelta(milliseconds=1))


def _checked_version(version: str | None, role: str) -> str | None:
    if version is None:
        return None
    if (
        not isinstance(version, str)
        or version in {"", ".", ".."}
        or "/" in version
        or "\\" in version
    ):
        raise VersionError(
            f"Invalid {role} version {version!r}: a version names one folder, so it must be "
            f"a non-empty string without path separators, and not '.' or '..'."
        )
    return version


def _local_path(filepath: str | os.PathLike[str]) -> Path:
    text = os.fspath(filepath)
    protocol, separator, rest = text.partition("://")
    if not separator:
        return Path(text)
    if protocol == "file":
        return Path(rest)
    raise DatasetError(
        f"pipeloop's file datasets read and write local files only; {text!r} uses the "
        f"{protocol!r} protocol. Copy the data to a local path or use a dataset made for it."
    )


def _merged_args(defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    return copy.deepcopy({**defaults, **(given or {})})


def _redacted(args: Mapping[str, Any]) -> dict[str, Any] | None:
    if not args:
        return None
    return {key: "***" if key in _SECRET_KEYS else value for key, value in args.items()}


def _newest_version(folder: Path, basename: str) -> str | None:
    """The greatest version under ``folder`` that holds ``basename`` (blocking; run in a
    worker thread)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return None
    for name in sorted(names, reverse=True):
        if (folder / name / basename).is_file():
            return name
    return None


class AbstractFileDataset(AbstractDataset):
    """Base class of datasets stored in one local file.

    Args:
        filepath: where the data lives (a ``file://`` prefix is accepted). With versioning
            on, this path becomes a folder of versions.
        load_args: options for reading, merged over the class's ``DEFAULT_LOAD_ARGS``.
        save_args: options for writing, merged over the class's ``DEFAULT_SAVE_ARGS``.
        version: the versions to load and save; giving one turns versioning on.
        versioned: turn versioning on without pinning versions (the same as
            ``version=Version(None, None)``).
        metadata: free-form information for plugins and docs; pipeloop ignores it.

    Raises:
        DatasetError: ``filepath`` is not a local path.
        VersionError: a pinned version is not a valid folder name.
    """

    persistent: ClassVar[bool] = True
    DEFAULT_LOAD_ARGS: ClassVar[dict[str, Any]] = {}
    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {}
    # Writes go out in chunks of this size, so a cancelled save stops between chunks.
    _WRITE_CHUNK_SIZE: ClassVar[int] = 1 << 20

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        *,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        versioned: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._check_args(load_args or {}, save_args or {})
        self._filepath = _local_path(filepath)
        self._load_args = _merged_args(self.DEFAULT_LOAD_ARGS, load_args)
        self._save_args = _merged_args(self.DEFAULT_SAVE_ARGS, save_args)
        self._versioned = versioned or version is not None
        load_version, save_version = version if version is not None else (None, None)
        self._version = Version(
            _checked_version(load_version, "load"), _checked_version(save_version, "save")
        )
        self._cached_load_version: str | None = None
        self._next_save_version: str | None = None
        self._last_generated_version: str | None = None
        self.metadata = metadata

    @classmethod
    def _check_args(cls, load_args: dict[str, Any], save_args: dict[str, Any]) -> None:
        """Refuse ``load_args``/``save_args`` this format cannot honour (raise
        ``DatasetError``); every argument is accepted unless a subclass says otherwise."""

    @property
    def filepath(self) -> Path:
        """The configured path: the file itself, or the folder of versions when versioned."""
        return self._filepath

    @property
    def versioned(self) -> bool:
        """Whether saves go to ``<filepath>/<version>/<basename>``."""
        return self._versioned

    @property
    def version(self) -> Version | None:
        """The pinned versions (``None`` for an unversioned dataset)."""
        return self._version if self._versioned else None

    async def resolve_load_version(self) -> str | None:
        """The version a load reads: the pinned one, else the newest on disk.

        The newest version is looked up once and remembered, so repeated loads in a run read
        the same data; ``save()`` and ``release()`` forget it.

        Returns:
            The version, or ``None`` for an unversioned dataset.

        Raises:
            VersionError: no version is pinned and none exists on disk.
        """
        if not self._versioned:
            return None
        if self._version.load is not None:
            return self._version.load
        if self._cached_load_version is None:
            newest = await anyio.to_thread.run_sync(
                _newest_version, self._filepath, self._filepath.name
            )
            if newest is None:
                raise VersionError(
                    f"Did not find any versions of dataset {self} under '{self._filepath}'. "
                    f"Save it first, or pin a load version that exists."
                )
            self._cached_load_version = newest
        return self._cached_load_version

    def resolve_save_version(self) -> str | None:
        """The version the next save writes: the pinned one, else a fresh timestamp.

        Without a pinned save version every save gets its own timestamp, later than any
        this dataset generated before.

        Returns:
            The version, or ``None`` for an unversioned dataset.
        """
        if not self._versioned:
            return None
        if self._version.save is not None:
            return self._version.save
        if self._next_save_version is None:
            self._next_save_version = _timestamp_after(self._last_generated_version)
            self._last_generated_version = self._next_save_version
        return self._next_save_version

    def _version_path(self, version: str) -> Path:
        return self._filepath / version / self._filepath.name

    async def _get_load_path(self) -> Path:
        version = await self.resolve_load_version()
        return self._filepath if version is None else self._version_path(version)

    async def _load(self) -> Any:
        path = await self._get_load_path()
        try:
            return await self._read(path)
        except FileNotFoundError as exc:
            if self._versioned:
                self._cached_load_version = None
                raise VersionError(
                    f"Version '{path.parent.name}' of dataset {self} does not exist: "
                    f"no file at '{path}'."
                ) from exc
            raise DatasetError(
                f"Failed while loading data from dataset {self}.\n"
                f"No file at '{path}': save the dataset first, or fix its filepath."
            ) from exc

    async def _save(self, data: Any) -> None:
        if not self._versioned:
            await self._write(self._filepath, data)
            return
        version = self.resolve_save_version()
        assert version is not None
        self._next_save_version = None  # taken: the next save gets a new timestamp
        path = self._version_path(version)
        try:
            await self._write(path, data)
        except FileExistsError as exc:
            # The version was claimed on disk (by os.link) by another save, maybe another
            # process: a version once written is never replaced.
            raise VersionError(
                f"Save version '{version}' of dataset {self} already exists at '{path}'; "
                f"a version is never overwritten. Save with a new version."
            ) from exc
        finally:
            self._cached_load_version = None  # the next load looks for the newest again

    async def _exists(self) -> bool:
        try:
            path = await self._get_load_path()
        except VersionError:
            return False
        return await aiofiles.os.path.isfile(path)

    async def _release(self) -> None:
        self._cached_load_version = None

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "load_args": _redacted(self._load_args),
            "save_args": _redacted(self._save_args),
            "version": self.version,
        }

    @abc.abstractmethod
    async def _read(self, path: Path) -> Any:
        """Return the data in the file at ``path`` (without blocking the loop)."""

    @abc.abstractmethod
    async def _write(self, path: Path, data: Any) -> None:
        """Store ``data`` at ``path`` atomically, with ``_write_bytes_atomically`` or
        ``_write_path_atomically``."""

    async def _write_content(self, file: AsyncBufferedIOBase, content: bytes) -> None:
        """Write ``content`` to the open temporary file, a chunk at a time."""
        view = memoryview(content)
        for start in range(0, len(view), self._WRITE_CHUNK_SIZE):
            await file.write(view[start : start + self._WRITE_CHUNK_SIZE])

    async def _write_bytes_atomically(self, path: Path, content: bytes) -> None:
        """Replace ``path`` with ``content`` all at once, or not at all."""

        async def fill(write: AtomicWrite) -> None:
            with anyio.CancelScope(shield=True):
                file = await aiofiles.open(write.path, write.open_mode)
            try:
                await self._write_content(file, content)
                await file.flush()
            finally:
                with anyio.CancelScope(shield=True):
                    await file.close()

        await self._write_atomically(path, fill)

    async def _write_path_atomically(self, path: Path, writer: Callable[[Path], object]) -> None:
        """Replace ``path`` with what ``writer(temporary_path)`` writes, all at once or not
        at all. ``writer`` is blocking (a library's ``to_csv``); it runs in a worker thread.
        The temporary file's name does not end in ``path``'s suffix: a writer that infers
        a format or compression from the name must be told it (see ``pandas.CSVDataset``).
        """

        async def fill(write: AtomicWrite) -> None:
            await anyio.to_thread.run_sync(writer, write.path)

        await self._write_atomically(path, fill)

    async def _write_atomically(
        self, path: Path, fill: Callable[[AtomicWrite], Awaitable[None]]
    ) -> None:
        # A versioned save claims its version with an exclusive publish, and stages in the
        # folder of versions, where the next save finds what a killed one left behind.
        begin = partial(
            begin_write,
            path,
            exclusive=self._versioned,
            staging=self._filepath if self._versioned else None,
        )
        # Shielded, here and below: each step runs in a worker thread that finishes it even
        # if the save is cancelled, and its temporary file must not be lost on the way.
        with anyio.CancelScope(shield=True):
            write = await anyio.to_thread.run_sync(begin)
        try:
            await fill(write)
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(write.commit)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(write.abort)
            raise


class AbstractBytesFileDataset(AbstractFileDataset):
    """Base class of file formats that turn data into bytes in memory (JSON, YAML, pickle,
    ...): the bytes move through aiofiles, and ``_serialise``/``_deserialise`` run in a
    worker thread, so neither a slow disk nor a large document stalls the event loop.

    Takes the arguments of :class:`AbstractFileDataset`.
    """

    async def _read(self, path: Path) -> Any:
        # Shielded: a load cancelled while the open runs in its thread would leak the file.
        with anyio.CancelScope(shield=True):
            file = await aiofiles.open(path, "rb")
        try:
            content = await file.read()
        finally:
            with anyio.CancelScope(shield=True):
                await file.close()
        return await anyio.to_thread.run_sync(self._deserialise, content)

    async def _write(self, path: Path, data: Any) -> None:
        content = await anyio.to_thread.run_sync(self._serialise, data)
        await self._write_bytes_atomically(path, content)

    @abc.abstractmethod
    def _deserialise(self, content: bytes) -> Any:
        """Turn the file's bytes into data (blocking; runs in a worker thread)."""

    @abc.abstractmethod
    def _serialise(self, data: Any) -> bytes:
        """Turn ``data`` into the file's bytes (blocking; runs in a worker thread)."""
