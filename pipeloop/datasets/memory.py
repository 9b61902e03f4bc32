"""``MemoryDataset``: data held in the process, the default for intermediate results."""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Literal

from pipeloop.datasets.base import AbstractDataset
from pipeloop.errors import DatasetError

__all__ = ["CopyMode", "MemoryDataset"]

CopyMode = Literal["deepcopy", "copy", "assign"]
_COPY_MODES: tuple[CopyMode, ...] = ("deepcopy", "copy", "assign")
_EMPTY: Any = object()


class MemoryDataset(AbstractDataset):
    """Keeps data in memory for the life of the dataset.

    Loads and saves hand out copies so that one node mutating its input cannot change what
    another node sees (``deepcopy``, the default); ``copy`` makes a shallow copy and
    ``assign`` shares the object (fastest; for data nobody mutates).

    Args:
        data: initial data; omit it for an empty dataset.
        copy_mode: ``"deepcopy"`` (default), ``"copy"`` or ``"assign"``.
        metadata: free-form information for plugins and docs; pipeloop ignores it.

    Raises:
        DatasetError: an unknown ``copy_mode``, or loading before anything was saved.
    """

    persistent: ClassVar[bool] = False
    instant: ClassVar[bool] = True

    def __init__(
        self,
        data: Any = _EMPTY,
        copy_mode: CopyMode | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if copy_mode is not None and copy_mode not in _COPY_MODES:
            raise DatasetError(
                f"Invalid copy_mode {copy_mode!r} for MemoryDataset; "
                f"use one of {', '.join(_COPY_MODES)}."
            )
        self._copy_mode: CopyMode = copy_mode or "deepcopy"
        self._data = _EMPTY
        self.metadata = metadata
        if data is not _EMPTY:
            self._data = self._copied(data)

    def _copied(self, data: Any) -> Any:
        if self._copy_mode == "deepcopy":
            return copy.deepcopy(data)
        if self._copy_mode == "copy":
            return copy.copy(data)
        return data

    async def _load(self) -> Any:
        if self._data is _EMPTY:
            raise DatasetError("Data for MemoryDataset has not been saved yet.")
        return self._copied(self._data)

    async def _save(self, data: Any) -> None:
        self._data = self._copied(data)

    async def _exists(self) -> bool:
        return self._data is not _EMPTY

    async def _release(self) -> None:
        self._data = _EMPTY

    def _describe(self) -> dict[str, Any]:
        if self._data is _EMPTY:
            return {}
        return {"data": f"<{type(self._data).__name__}>"}

    def __repr__(self) -> str:
        described = self._describe()
        return f"MemoryDataset(data={described['data']})" if described else "MemoryDataset()"

    __str__ = __repr__
