"""``AbstractFileDataset``: one file, local or remote, read and written without blocking the
event loop.

Every file dataset (text, JSON, YAML, pickle, CSV, and the pandas ones) shares what lives
here:

- **Local or remote.** A local path goes through aiofiles and the guarantees below; an
  fsspec URL (``s3://``, ``gcs://``, ``abfs://``, ``memory://``) goes through fsspec, with
  ``credentials`` and ``fs_args`` (see :mod:`pipeloop.datasets.remote` for what remote
  stores guarantee).
- **Non-blocking I/O.** Local bytes move through aiofiles; turning them into data and back
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
import errno
import io
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, ClassVar, NamedTuple, TypeVar

import aiofiles
import aiofiles.os
import anyio
import anyio.to_thread
from aiofiles.threadpool.binary import AsyncBufferedIOBase

from pipeloop.datasets.atomic import AtomicWrite, begin_write
from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.remote import LOCAL_PROTOCOLS, RemoteFiles, split_protocol
from pipeloop.errors import DatasetError, VersionError

__all__ = [
    "VERSION_FORMAT",
    "VERSION_PATTERN",
    "AbstractBytesFileDataset",
    "AbstractFileDataset",
    "Version",
    "generate_timestamp",
]

T = TypeVar("T")

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


def _split_filepath(filepath: str | os.PathLike[str]) -> tuple[str, str]:
    text = os.fspath(filepath)
    protocol, rest = split_protocol(text)
    return ("", rest) if protocol in LOCAL_PROTOCOLS else (protocol, rest)


def _merged_args(defaults: Mapping[str, Any], given: Mapping[str, Any] | None) -> dict[str, Any]:
    return copy.deepcopy({**defaults, **(given or {})})


def _redacted(args: Mapping[str, Any]) -> dict[str, Any] | None:
    if not args:
        return None
    return {key: "***" if key in _SECRET_KEYS else value for key, value in args.items()}


def _newest_version(folder: PurePath, basename: str) -> str | None:
    """The greatest version under ``folder`` that holds ``basename`` (blocking; run in a
    worker thread)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return None
    for name in sorted(names, reverse=True):
        if Path(folder, name, basename).is_file():
            return name
    return None


class AbstractFileDataset(AbstractDataset):
    """Base class of datasets stored in one file, local or remote.

    Args:
        filepath: where the data lives: a local path (a ``file://`` prefix is accepted), or
            an fsspec URL such as ``s3://bucket/data.csv``, ``gcs://...``, ``abfs://...``
            or ``memory://...`` (see :mod:`pipeloop.datasets.remote`). With versioning on,
            this path becomes a folder of versions.
        load_args: options for reading, merged over the class's ``DEFAULT_LOAD_ARGS``.
        save_args: options for writing, merged over the class's ``DEFAULT_SAVE_ARGS``.
        version: the versions to load and save; giving one turns versioning on.
        versioned: turn versioning on without pinning versions (the same as
            ``version=Version(None, None)``).
        metadata: free-form information for plugins and docs; pipeloop ignores it.
        credentials: for a remote ``filepath``, passed to the fsspec filesystem
            (``key``/``secret`` for S3, ``token`` for GCS, ...); never shown in ``repr``.
        fs_args: for a remote ``filepath``, more arguments of the fsspec filesystem
            (``client_kwargs``, ``endpoint_url``, ...); never shown in ``repr`` either.

    Raises:
        DatasetError: the protocol of ``filepath`` needs a package that is not installed.
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
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
    ) -> None:
        self._check_args(load_args or {}, save_args or {})
        protocol, path = _split_filepath(filepath)
        self._remote = (
            RemoteFiles(protocol, credentials=credentials, fs_args=fs_args) if protocol else None
        )
        self._filepath: PurePath = PurePosixPath(path) if protocol else Path(path)
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
    def filepath(self) -> PurePath:
        """The configured path: the file itself, or the folder of versions when versioned.
        A local ``Path``, or for a remote file the path without its protocol."""
        return self._filepath

    @property
    def protocol(self) -> str | None:
        """The fsspec protocol of a remote file (``"s3"``, ...); ``None`` for a local one."""
        return None if self._remote is None else self._remote.protocol

    def _location(self, path: PurePath) -> str:
        """``path`` as users wrote it: with its protocol when remote."""
        return str(path) if self._remote is None else self._remote.url(str(path))

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
            if self._remote is not None:
                newest = await self._remote_call(
                    self._filepath,
                    self._remote.newest_version(str(self._filepath), self._filepath.name),
                )
            else:
                newest = await anyio.to_thread.run_sync(
                    _newest_version, self._filepath, self._filepath.name
                )
            if newest is None:
                raise VersionError(
                    f"Did not find any versions of dataset {self} under "
                    f"'{self._location(self._filepath)}'. "
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

    def _version_path(self, version: str) -> PurePath:
        return self._filepath / version / self._filepath.name

    async def _get_load_path(self) -> PurePath:
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
                    f"no file at '{self._location(path)}'."
                ) from exc
            raise DatasetError(
                f"Failed while loading data from dataset {self}.\n"
                f"No file at '{self._location(path)}': save the dataset first, or fix its "
                f"filepath."
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
                f"Save version '{version}' of dataset {self} already exists at "
                f"'{self._location(path)}'; "
                f"a version is never overwritten. Save with a new version."
            ) from exc
        finally:
            self._cached_load_version = None  # the next load looks for the newest again

    async def _exists(self) -> bool:
        try:
            path = await self._get_load_path()
        except VersionError:
            return False
        if self._remote is not None:
            return await self._remote_call(path, self._remote.isfile(str(path)))
        return await aiofiles.os.path.isfile(path)

    async def _release(self) -> None:
        self._cached_load_version = None

    def _describe(self) -> dict[str, Any]:
        # Neither credentials nor fs_args: fs_args may hold keys as well.
        return {
            "filepath": self._location(self._filepath),
            "load_args": _redacted(self._load_args),
            "save_args": _redacted(self._save_args),
            "version": self.version,
        }

    @abc.abstractmethod
    async def _read(self, path: PurePath) -> Any:
        """Return the data in the file at ``path`` (without blocking the loop), with
        ``_read_bytes`` or ``_read_with``."""

    @abc.abstractmethod
    async def _write(self, path: PurePath, data: Any) -> None:
        """Store ``data`` at ``path`` atomically, with ``_write_bytes_atomically`` or
        ``_write_path_atomically``."""

    async def _remote_call(self, path: PurePath, call: Awaitable[T]) -> T:
        """Await a remote operation on ``path``; a refusal names the URL and the advice."""
        try:
            return await call
        except PermissionError as exc:
            raise DatasetError(
                f"Access to '{self._location(path)}' was denied for dataset {self}: {exc}. "
                f"Check the dataset's credentials (and fs_args)."
            ) from exc

    async def _read_bytes(self, path: PurePath) -> bytes:
        """The bytes of the file at ``path``."""
        if self._remote is not None:
            return await self._remote_call(path, self._remote.read(str(path)))
        # Shielded: a load cancelled while the open runs in its thread would leak the file.
        with anyio.CancelScope(shield=True):
            file = await aiofiles.open(path, "rb")
        try:
            return await file.read()
        finally:
            with anyio.CancelScope(shield=True):
                await file.close()

    async def _read_with(self, path: PurePath, reader: Callable[[Any], T]) -> T:
        """``reader(source)`` in a worker thread, for libraries that read a path or a file
        object (pandas): the local path itself, or the remote file's bytes in a buffer."""
        # A read that is cancelled (a node's timeout, Ctrl-C) is abandoned, not waited for.
        if self._remote is None:
            return await anyio.to_thread.run_sync(reader, path, abandon_on_cancel=True)
        content = await self._read_bytes(path)
        return await anyio.to_thread.run_sync(reader, io.BytesIO(content),
                                              abandon_on_cancel=True)

    async def _write_content(self, file: AsyncBufferedIOBase, content: bytes) -> None:
        """Write ``content`` to the open temporary file, a chunk at a time."""
        view = memoryview(content)
        for start in range(0, len(view), self._WRITE_CHUNK_SIZE):
            await file.write(view[start : start + self._WRITE_CHUNK_SIZE])

    async def _write_bytes_atomically(self, path: PurePath, content: bytes) -> None:
        """Replace ``path`` with ``content`` all at once, or not at all."""
        if self._remote is not None:
            await self._write_remote(path, content)
            return

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

    async def _write_path_atomically(
        self, path: PurePath, writer: Callable[[Any], object]
    ) -> None:
        """Replace ``path`` with what ``writer(target)`` writes, all at once or not at all.
        ``writer`` is blocking (a library's ``to_csv``); it runs in a worker thread.

        ``target`` is a local temporary path, or for a remote file a binary buffer whose
        bytes are then uploaded. Neither ends in ``path``'s suffix: a writer that infers a
        format or compression from the name must be told it (see ``pandas.CSVDataset``).
        """
        if self._remote is not None:
            buffer = io.BytesIO()
            await anyio.to_thread.run_sync(writer, buffer)
            await self._write_remote(path, buffer.getvalue())
            return

        async def fill(write: AtomicWrite) -> None:
            await anyio.to_thread.run_sync(writer, write.path)

        await self._write_atomically(path, fill)

    async def _write_remote(self, path: PurePath, content: bytes) -> None:
        assert self._remote is not None
        # Object stores have no exclusive create: this check is all a version gets there.
        if self._versioned and await self._remote_call(path, self._remote.isfile(str(path))):
            raise FileExistsError(errno.EEXIST, "File exists", self._location(path))
        await self._remote_call(path, self._remote.write(str(path), content))

    async def _write_atomically(
        self, path: PurePath, fill: Callable[[AtomicWrite], Awaitable[None]]
    ) -> None:
        # A versioned save claims its version with an exclusive publish, and stages in the
        # folder of versions, where the next save finds what a killed one left behind.
        begin = partial(
            begin_write,
            path,
            exclusive=self._versioned,
            staging=Path(self._filepath) if self._versioned else None,
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

    async def _read(self, path: PurePath) -> Any:
        content = await self._read_bytes(path)
        return await anyio.to_thread.run_sync(self._deserialise, content)

    async def _write(self, path: PurePath, data: Any) -> None:
        content = await anyio.to_thread.run_sync(self._serialise, data)
        await self._write_bytes_atomically(path, content)

    @abc.abstractmethod
    def _deserialise(self, content: bytes) -> Any:
        """Turn the file's bytes into data (blocking; runs in a worker thread)."""

    @abc.abstractmethod
    def _serialise(self, data: Any) -> bytes:
        """Turn ``data`` into the file's bytes (blocking; runs in a worker thread)."""
