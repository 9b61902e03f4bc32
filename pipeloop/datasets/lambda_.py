"""``LambdaDataset``: a dataset made of the user's own callables."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeloop.datasets.base import AbstractDataset, call_maybe_async
from pipeloop.errors import DatasetError

__all__ = ["LambdaDataset"]


def _name_of(func: Callable[..., Any] | None) -> str | None:
    if func is None:
        return None
    return getattr(func, "__qualname__", None) or repr(func)


class LambdaDataset(AbstractDataset):
    """Loads and saves through callables the user passes in.

    Each callable may be plain (run in a worker thread; a coroutine it returns is awaited)
    or async (awaited on the loop): an ``async def`` function, a ``functools.partial`` of
    one, or an object with an ``async def __call__``.

    Args:
        load: returns the data; ``None`` makes the dataset write-only.
        save: stores the data; ``None`` makes the dataset read-only.
        exists: tells whether data is there; without it ``exists()`` is ``False``.
        release: drops any held data.
        metadata: free-form information; pipeloop ignores it.

    Raises:
        DatasetError: a given argument is not callable, or the missing operation is used.
    """

    def __init__(
        self,
        load: Callable[[], Any] | None,
        save: Callable[[Any], Any] | None,
        exists: Callable[[], bool] | None = None,
        release: Callable[[], Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        for label, func in (("load", load), ("save", save), ("exists", exists),
                            ("release", release)):
            if func is not None and not callable(func):
                raise DatasetError(
                    f"LambdaDataset: '{label}' must be a function, not {type(func).__name__}."
                )
        self._load_func = load
        self._save_func = save
        self._exists_func = exists
        self._release_func = release
        self.metadata = metadata

    async def _load(self) -> Any:
        if self._load_func is None:
            raise DatasetError(f"Cannot load {self}: it has no 'load' function.")
        return await call_maybe_async(self._load_func)

    async def _save(self, data: Any) -> None:
        if self._save_func is None:
            raise DatasetError(f"Cannot save to {self}: it has no 'save' function.")
        await call_maybe_async(self._save_func, data)

    async def _exists(self) -> bool:
        if self._exists_func is None:
            return False
        return bool(await call_maybe_async(self._exists_func))

    async def _release(self) -> None:
        if self._release_func is not None:
            await call_maybe_async(self._release_func)

    def _describe(self) -> dict[str, Any]:
        return {
            "load": _name_of(self._load_func),
            "save": _name_of(self._save_func),
            "exists": _name_of(self._exists_func),
            "release": _name_of(self._release_func),
        }
