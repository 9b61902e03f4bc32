"""``CSVDataset``: rows of a CSV file as a list of dicts, with the standard ``csv`` module."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any, ClassVar

from pipeloop.datasets.file import AbstractBytesFileDataset
from pipeloop.errors import DatasetError

__all__ = ["CSVDataset"]


class CSVDataset(AbstractBytesFileDataset):
    """Loads a CSV file as a list of dicts (one per row, keyed by the header) and saves
    such a list back, without pandas.

    Every loaded value is a ``str``, as the ``csv`` module reads it; saving writes each value
    with ``str()`` (``None`` as an empty field). For typed columns, use
    ``pipeloop.datasets.pandas.CSVDataset``.

    Args:
        filepath: where the table lives.
        load_args: passed to ``csv.DictReader`` (``fieldnames`` for a file without a header
            row, ``delimiter``, ``dialect``, ...), plus ``encoding`` (default ``"utf-8"``).
        save_args: passed to ``csv.DictWriter`` (``fieldnames`` to fix the columns and their
            order, ``delimiter``, ``lineterminator``, ...), plus ``encoding`` (default
            ``"utf-8"``) and ``header`` (default ``True``: write the header row). Without
            ``fieldnames`` the columns are the rows' keys in order of first appearance.
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath`` (``s3://...``); see
            :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.

    Example::

        people = CSVDataset("data/people.csv", save_args={"delimiter": ";"})
        await people.save([{"name": "Ada", "born": 1815}])
        assert await people.load() == [{"name": "Ada", "born": "1815"}]
    """

    DEFAULT_LOAD_ARGS: ClassVar[dict[str, Any]] = {"encoding": "utf-8"}
    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {"encoding": "utf-8", "header": True}

    def _deserialise(self, content: bytes) -> list[dict[str, Any]]:
        reader_args = dict(self._load_args)
        text = content.decode(reader_args.pop("encoding"))
        return list(csv.DictReader(io.StringIO(text, newline=""), **reader_args))

    def _serialise(self, data: Any) -> bytes:
        writer_args = dict(self._save_args)
        encoding = writer_args.pop("encoding")
        header = writer_args.pop("header")
        rows = list(data)
        for index, row in enumerate(rows):
            if not isinstance(row, Mapping):
                raise DatasetError(
                    f"CSVDataset saves a list of dicts; row {index} is a "
                    f"{type(row).__name__}: {self}"
                )
        if "fieldnames" not in writer_args:
            writer_args["fieldnames"] = list(dict.fromkeys(key for row in rows for key in row))
        buffer = io.StringIO(newline="")
        writer = csv.DictWriter(buffer, **writer_args)
        if header and writer.fieldnames:
            writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue().encode(encoding)
