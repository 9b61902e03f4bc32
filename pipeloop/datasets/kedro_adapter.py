"""A dataset written for Kedro (``kedro-datasets``' classes, a project's own) in a pipeloop
catalog.

Kedro's protocol is plain methods: ``load()``, ``save(data)``, ``exists()``, ``release()``,
``_describe()``, and versioning through a ``version=Version(load, save)`` argument that the
dataset keeps in ``_version``. :class:`KedroDataset` holds one such dataset and runs each of
those calls in a worker thread, so the event loop never blocks. The Kedro dataset is built
with the catalog entry's arguments as they are (``credentials``, ``fs_args``, ``load_args``,
``save_args``, ``version``, ...), so it behaves exactly as it does under Kedro.

It pickles by pickling the Kedro dataset (Kedro's ``ParallelRunner`` asks the same of
them), so it works under every runner, process workers included.
"""

from __future__ import annotations

import copy
from typing import Any

import anyio.to_thread

from pipeloop.datasets.base import AbstractDataset

__all__ = ["KedroDataset", "is_kedro_dataset_class", "kedro_version"]

_PROTOCOL = ("load", "save", "_describe")


def is_kedro_dataset_class(cls: Any) -> bool:
    """Whether ``cls`` follows Kedro's dataset protocol: a subclass of
    ``kedro.io.AbstractDataset`` (looked up by name, so kedro need not be imported), or any
    class with plain ``load``, ``save`` and ``_describe`` that is not a pipeloop dataset."""
    if not isinstance(cls, type) or issubclass(cls, AbstractDataset):
        return False
    if any(base.__name__ == "AbstractDataset" and base.__module__.startswith("kedro.io")
           for base in cls.__mro__):
        return True
    return all(callable(getattr(cls, name, None)) for name in _PROTOCOL)


def kedro_version(version: Any) -> Any:
    """pipeloop's ``Version(load, save)`` as Kedro's (the same two fields), so that Kedro's
    versioned datasets accept it; unchanged when kedro is not installed."""
    if version is None:
        return None
    try:
        from kedro.io.core import Version
    except ImportError:
        return version
    return Version(version.load, version.save)


class KedroDataset(AbstractDataset):
    """A Kedro dataset as a pipeloop dataset; each call runs in a worker thread.

    Args:
        dataset: an instance of a class that follows Kedro's dataset protocol.

    Example:
        >>> from kedro_datasets.pandas import ExcelDataset       # doctest: +SKIP
        >>> KedroDataset(ExcelDataset(filepath="cars.xlsx"))      # doctest: +SKIP
    """

    def __init__(self, dataset: Any) -> None:
        self._dataset = dataset

    @property
    def dataset(self) -> Any:
        """The Kedro dataset this one stands for."""
        return self._dataset

    @property
    def _version(self) -> Any:
        return getattr(self._dataset, "_version", None)

    @_version.setter
    def _version(self, version: Any) -> None:
        self._dataset._version = kedro_version(version)

    @property
    def versioned(self) -> bool:
        """Whether the Kedro dataset was given a version."""
        return self._version is not None

    def __copy__(self) -> KedroDataset:
        # A copy pinned to another version must not change this one's Kedro dataset.
        return KedroDataset(copy.copy(self._dataset))

    def _load(self) -> Any:
        return self._dataset.load()

    def _save(self, data: Any) -> None:
        self._dataset.save(data)

    async def _exists(self) -> bool:
        exists = getattr(self._dataset, "exists", None)
        if not callable(exists):
            return False
        return bool(await anyio.to_thread.run_sync(exists, abandon_on_cancel=True))

    async def _release(self) -> None:
        release = getattr(self._dataset, "release", None)
        if callable(release):
            await anyio.to_thread.run_sync(release)

    def _describe(self) -> dict[str, Any]:
        cls = type(self._dataset)
        try:
            described = dict(self._dataset._describe())
        except Exception:
            described = {}
        return {"type": f"{cls.__module__}.{cls.__qualname__}", **described}
