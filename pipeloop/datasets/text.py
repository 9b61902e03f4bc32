"""``TextDataset``: a ``str`` kept in a text file."""

from __future__ import annotations

from typing import Any, ClassVar

from pipeloop.datasets.file import AbstractBytesFileDataset
from pipeloop.errors import DatasetError

__all__ = ["TextDataset"]


class TextDataset(AbstractBytesFileDataset):
    """Loads and saves a ``str`` as a text file, byte for byte (line endings are kept as
    they are, not translated).

    Args:
        filepath: where the text lives.
        load_args: passed to ``bytes.decode``: ``encoding`` (default ``"utf-8"``) and
            ``errors``.
        save_args: passed to ``str.encode``: ``encoding`` (default ``"utf-8"``) and
            ``errors``.
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath`` (``s3://...``); see
            :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.

    Example::

        notes = TextDataset("data/notes.txt")
        await notes.save("héllo")
        assert await notes.load() == "héllo"
    """

    DEFAULT_LOAD_ARGS: ClassVar[dict[str, Any]] = {"encoding": "utf-8"}
    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {"encoding": "utf-8"}

    def _deserialise(self, content: bytes) -> str:
        return content.decode(**self._load_args)

    def _serialise(self, data: Any) -> bytes:
        if not isinstance(data, str):
            raise DatasetError(
                f"{type(self).__name__} saves str only, not {type(data).__name__}: {self}"
            )
        return data.encode(**self._save_args)
