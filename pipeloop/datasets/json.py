"""``JSONDataset``: JSON documents in a file."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from pipeloop.datasets.file import AbstractBytesFileDataset

__all__ = ["JSONDataset"]


class JSONDataset(AbstractBytesFileDataset):
    """Loads and saves JSON-compatible data (dicts, lists, strings, numbers, booleans,
    ``None``) as a UTF-8 JSON file.

    Args:
        filepath: where the document lives.
        load_args: passed to ``json.loads`` (``parse_float``, ``object_hook``, ...).
        save_args: passed to ``json.dumps``; the default is ``{"indent": 2}``.
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath`` (``s3://...``); see
            :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.

    Example::

        scores = JSONDataset("data/scores.json", save_args={"sort_keys": True})
        await scores.save({"b": 2, "a": 1})
    """

    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {"indent": 2}

    def _deserialise(self, content: bytes) -> Any:
        return json.loads(content, **self._load_args)

    def _serialise(self, data: Any) -> bytes:
        return json.dumps(data, **self._save_args).encode("utf-8")
