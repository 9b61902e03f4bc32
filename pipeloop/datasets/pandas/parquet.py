"""``pandas.ParquetDataset``: a ``DataFrame`` in a Parquet file."""

from __future__ import annotations

from functools import partial
from pathlib import PurePath
from typing import Any

from pipeloop.datasets.file import AbstractFileDataset
from pipeloop.datasets.pandas._compat import pd
from pipeloop.errors import DatasetError

__all__ = ["ParquetDataset"]


class ParquetDataset(AbstractFileDataset):
    """Loads a Parquet file into a ``pandas.DataFrame`` and saves one back (Kedro's
    ``pandas.ParquetDataset``, for single files). Needs a Parquet engine: ``pyarrow``
    (installed by the ``[pandas]`` extra) or ``fastparquet``.

    Args:
        filepath: where the table lives.
        load_args: passed to ``pandas.read_parquet`` (``columns`` reads only those).
        save_args: passed to ``DataFrame.to_parquet`` (``compression``, ``index``, ...).
            ``partition_cols`` is refused: it writes a folder, which cannot be replaced
            atomically.
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath`` (``s3://...``); see
            :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.

    Raises:
        DatasetError: ``save_args`` has ``partition_cols``.
    """

    @classmethod
    def _check_args(cls, load_args: dict[str, Any], save_args: dict[str, Any]) -> None:
        if "partition_cols" in save_args:
            raise DatasetError(
                "ParquetDataset writes one file; 'partition_cols' in save_args would write a "
                "folder of files, which pipeloop cannot replace atomically."
            )

    async def _read(self, path: PurePath) -> pd.DataFrame:
        return await self._read_with(path, partial(pd.read_parquet, **self._load_args))

    async def _write(self, path: PurePath, data: Any) -> None:
        if not isinstance(data, pd.DataFrame):
            raise DatasetError(
                f"{type(self).__name__} saves a pandas DataFrame, not {type(data).__name__}: {self}"
            )
        await self._write_path_atomically(path, partial(data.to_parquet, **self._save_args))
