"""``MemoryDataset``: data held in the process, the default for intermediate results."""

from __future__ import annotations

import copy
import sys
from typing import Any, ClassVar, Literal

from pipeloop.datasets.base import AbstractDataset
from pipeloop.errors import DatasetError

__all__ = ["CopyMode", "MemoryDataset", "infer_copy_mode"]

CopyMode = Literal["deepcopy", "copy", "assign"]
_COPY_MODES: tuple[CopyMode, ...] = ("deepcopy", "copy", "assign")
_EMPTY: Any = object()


# The mode depends only on the data's type: decided once per type, not on every hand-off.
_MODE_OF_TYPE: dict[type, CopyMode] = {}


# Types whose copy (deep or shallow) is the object itself, as ``copy`` makes them: handing
# them over needs no call at all (a chain of scalar nodes spends its time here otherwise).
_IMMUTABLE: frozenset[type] = frozenset(
    {int, float, bool, complex, str, bytes, type(None), range})


def infer_copy_mode(data: Any) -> CopyMode:
    """The copy mode Kedro picks for ``data`` when none is given.

    pandas DataFrames and numpy arrays are copied (``copy``: their own copy is a full one,
    and much cheaper than ``deepcopy``); other DataFrame-likes (Spark, Polars, ibis tables)
    are shared (``assign``: they cannot be deep-copied, or are immutable); anything else is
    deep-copied.
    """
    kind = type(data)
    mode = _MODE_OF_TYPE.get(kind)
    if mode is None:
        mode = _MODE_OF_TYPE[kind] = _mode_of(data)
    return mode


def _mode_of(data: Any) -> CopyMode:
    # Only a module already imported can have made ``data``: never import one here.
    pandas = sys.modules.get("pandas")
    numpy = sys.modules.get("numpy")
    if (pandas is not None and isinstance(data, pandas.DataFrame)) or (
        numpy is not None and isinstance(data, numpy.ndarray)
    ):
        return "copy"
    if type(data).__name__ == "DataFrame":
        return "assign"
    ibis = sys.modules.get("ibis")
    if ibis is not None and isinstance(data, getattr(ibis, "Table", ())):
        return "assign"
    return "deepcopy"


def _copied(data: Any, mode: CopyMode) -> Any:
    if mode == "deepcopy":
        return copy.deepcopy(data)
    if mode == "copy":
        return copy.copy(data)
    return data


class MemoryDataset(AbstractDataset):
    """Keeps data in memory for the life of the dataset.

    Loads and saves hand out copies so that one node mutating its input cannot change what
    another node sees. Without a ``copy_mode`` it is chosen for each piece of data as Kedro
    does (see :func:`infer_copy_mode`): pandas and numpy data are copied, other
    DataFrame-likes (Spark, ibis) shared, anything else deep-copied. ``copy`` makes a
    shallow copy (``copy.copy``; a full one for pandas and numpy) and ``assign`` shares the
    object (fastest; for data nobody mutates). The datasets a run makes for names the
    catalog does not hold are ``MemoryDataset()``, so they infer it too.

    Args:
        data: initial data; omit it for an empty dataset.
        copy_mode: ``"deepcopy"``, ``"copy"`` or ``"assign"``; inferred from the data when
            omitted.
        metadata: free-form information for plugins and docs; pipeloop ignores it.

    Raises:
        DatasetError: an unknown ``copy_mode``, or loading before anything was saved.

    Example:
        Kedro's own example, awaited::

            data = pd.DataFrame({"col1": [1, 2], "col2": [4, 5], "col3": [5, 6]})
            dataset = MemoryDataset(data=data)
            assert (await dataset.load()).equals(data)
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
        self._copy_mode: CopyMode | None = copy_mode
        self._data = _EMPTY
        self.metadata = metadata
        if data is not _EMPTY:
            self._data = self._copied(data)

    @property
    def copy_mode(self) -> CopyMode | None:
        """The copy mode given, or ``None`` when it is inferred from each piece of data."""
        return self._copy_mode

    def _copied(self, data: Any) -> Any:
        kind = type(data)
        if kind in _IMMUTABLE:  # every copy of these is the object itself
            return data
        return _copied(data, self._copy_mode or infer_copy_mode(data))

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
