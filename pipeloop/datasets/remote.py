"""Remote storage for the file datasets, through fsspec (``s3://``, ``gcs://``, ``abfs://``,
``memory://``, ...).

fsspec is the field's standard for remote storage (pandas, Dask and Kedro use it), so
pipeloop never speaks a storage protocol itself: :class:`RemoteFiles` asks one fsspec
filesystem for the few things a file dataset does (read a file's bytes, write them, see
whether a file exists, list versions).

Filesystems with an async API (s3fs, gcsfs, adlfs) are driven through it: their coroutines
run on fsspec's own I/O loop and the dataset awaits the result, so a thousand concurrent
loads hold no worker threads. Other filesystems (``memory://``, ``sftp://``) are called in
a worker thread.

What remote storage cannot promise: an object store's write is all-or-nothing per object
(no half-written file, as locally), but there is no exclusive create, so two runs that save
the same version at the same instant may both succeed (the later write wins). Versions are
checked before a save, which catches every save that is not simultaneous.
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Mapping
from functools import partial
from typing import Any

import anyio.to_thread

from pipeloop.errors import DatasetError

__all__ = ["LOCAL_PROTOCOLS", "RemoteFiles", "split_protocol"]

LOCAL_PROTOCOLS = frozenset({"", "file", "local"})
"""Protocols that name a local path (kept on aiofiles and the atomic-write machinery)."""


def split_protocol(filepath: str) -> tuple[str, str]:
    """``"s3://bucket/key"`` -> ``("s3", "bucket/key")``; a plain path has protocol ``""``.

    A Windows drive (``C:\\data``) is a plain path, not a protocol.
    """
    protocol, separator, rest = filepath.partition("://")
    if not separator or len(protocol) < 2:
        return "", filepath
    return protocol.lower(), rest


class RemoteFiles:
    """The files of one fsspec filesystem, with coroutines for what a dataset does.

    Args:
        protocol: the fsspec protocol (``"s3"``, ``"gcs"``, ``"memory"``, ...).
        credentials: passed to the filesystem's constructor (``key``/``secret`` for s3fs,
            ``token`` for gcsfs, ...), as Kedro does; never shown.
        fs_args: more constructor arguments (``client_kwargs``, ``endpoint_url``, ...);
            they override ``credentials`` on a clash.

    Raises:
        DatasetError: fsspec, or the package implementing ``protocol``, is not installed,
            or the filesystem refused the arguments.
    """

    def __init__(
        self,
        protocol: str,
        *,
        credentials: Mapping[str, Any] | None = None,
        fs_args: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            import fsspec  # type: ignore[import-untyped, unused-ignore]
        except ImportError as exc:
            raise DatasetError(
                f"Reading '{protocol}://' paths needs fsspec, which is not installed. "
                f'Install it: pip install "pipeloop[s3]" (or fsspec and the filesystem '
                f"package for {protocol!r})."
            ) from exc
        self.protocol = protocol
        options = {**(credentials or {}), **(fs_args or {})}
        try:
            self._fs = fsspec.filesystem(protocol, **options)
        except ImportError as exc:
            raise DatasetError(
                f"The {protocol!r} protocol needs a package that is not installed: {exc}"
            ) from exc
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"Cannot make the {protocol!r} filesystem from the credentials and fs_args "
                f"given: {exc}"
            ) from exc

    def url(self, path: str) -> str:
        """The full URL of ``path`` (``bucket/key`` -> ``s3://bucket/key``)."""
        return f"{self.protocol}://{path}"

    async def read(self, path: str) -> bytes:
        """The bytes of the file at ``path``.

        Raises:
            FileNotFoundError: there is no such file.
        """
        content = await self._call("cat_file", self.url(path))
        return bytes(content)

    async def write(self, path: str, content: bytes) -> None:
        """Store ``content`` as the file at ``path``, creating parent "folders" as needed."""
        await self._call("pipe_file", self.url(path), content)

    async def isfile(self, path: str) -> bool:
        """Whether a file exists at ``path``."""
        return bool(await self._call("isfile", self.url(path)))

    async def newest_version(self, folder: str, basename: str) -> str | None:
        """The greatest version under ``folder`` that holds ``basename``, if any."""
        url = self.url(folder)
        self._fs.invalidate_cache(url)  # another process may have saved a version since
        try:
            entries = await self._call("ls", url, detail=False)
        except (FileNotFoundError, NotADirectoryError):
            return None
        names = sorted((posixpath.basename(str(entry).rstrip("/")) for entry in entries),
                       reverse=True)
        for name in names:
            if await self.isfile(posixpath.join(folder, name, basename)):
                return name
        return None

    async def _call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        fs = self._fs
        if getattr(fs, "async_impl", False) and _on_asyncio():
            # The coroutine runs on fsspec's loop, where the filesystem's session lives;
            # cancelling this await cancels it there.
            coroutine = getattr(fs, f"_{method}")(*args, **kwargs)
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coroutine, fs.loop))
        return await anyio.to_thread.run_sync(partial(getattr(fs, method), *args, **kwargs))


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # another async library (trio)
        return False
    return True
