"""``pandas.CSVDataset``: a ``DataFrame`` in a CSV file."""

from __future__ import annotations

from functools import partial
from pathlib import PurePath
from typing import Any, ClassVar

from pipeloop.datasets.file import AbstractFileDataset
from pipeloop.datasets.pandas._compat import infer_compression, pd
from pipeloop.errors import DatasetError

__all__ = ["CSVDataset"]


class CSVDataset(AbstractFileDataset):
    """Loads a CSV file into a ``pandas.DataFrame`` and saves one back (Kedro's
    ``pandas.CSVDataset``).

    Args:
        filepath: where the table lives; a compression suffix such as ``.gz`` is honoured as
            pandas does.
        load_args: passed to ``pandas.read_csv``.
        save_args: passed to ``DataFrame.to_csv``; the default is ``{"index": False}``.
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath`` (``s3://...``); see
            :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.
    """

    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {"index": False}

    async def _read(self, path: PurePath) -> pd.DataFrame:
        # Read locally, pandas infers the compression from the real name; from a remote
        # file's bytes, it must be told.
        compression = infer_compression(path.name, "infer")
        load_args = {"compression": compression, **self._load_args}
        return await self._read_with(path, partial(pd.read_csv, **load_args))

    async def _write(self, path: PurePath, data: Any) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(
                f"{type(self).__name__} saves a pandas DataFrame, not {type(data).__name__}: {self}"
            )
        save_args = {"compression": _compression(path.name), **self._save_args}
        await self._write_path_atomically(path, partial(data.to_csv, **save_args))


def _compression(name: str) -> str | dict[str, str] | None:
    """The compression pandas would infer from ``name`` ("x.csv.gz" -> gzip): the file is
    written under a temporary name that does not end in the suffix, or to a buffer."""
    method = infer_compression(name, "infer")
    if method == "tar":
        # "x.tar.gz" is a gzipped tar; pandas takes the tar's own mode from the name.
        inner = {"gz": "gz", "bz2": "bz2", "xz": "xz"}.get(name.rsplit(".", 1)[-1])
        return {"method": "tar", "mode": f"w:{inner}"} if inner else "tar"
    return method

