"""Kedro's catalog seen through pipeloop's: one adapter dataset per name a run uses.

Every load and save still goes through Kedro's own ``DataCatalog.load``/``save`` (its log
lines, its validators, its errors); the adapter only decides where the call runs. Kedro's
datasets are synchronous, so a load or save runs in a worker thread and pipeloop's
scheduler overlaps them; a ``MemoryDataset`` (data in this process) is used in line, where
a thread would only cost time.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar

import anyio.to_thread

from pipeloop import AbstractDataset, DataCatalog

if TYPE_CHECKING:
    from kedro.io import CatalogProtocol

__all__ = ["KedroCatalogDataset", "translate_catalog"]


class KedroCatalogDataset(AbstractDataset):
    """The dataset ``name`` of a Kedro catalog, as a pipeloop dataset.

    Args:
        catalog: Kedro's catalog of the run (the one its session made).
        name: the dataset's name in it.
    """

    def __init__(self, catalog: CatalogProtocol, name: str) -> None:
        self.kedro_catalog = catalog
        self.name = name

    @abc.abstractmethod
    async def kedro_load(self) -> Any:
        """Load through Kedro's catalog; Kedro's errors unchanged (``load`` wraps them)."""

    @abc.abstractmethod
    async def kedro_save(self, data: Any) -> None:
        """Save through Kedro's catalog; Kedro's errors unchanged (``save`` wraps them)."""

    def _describe(self) -> dict[str, Any]:
        dataset = self.kedro_catalog.get(self.name)
        return {"name": self.name, "kedro": type(dataset).__name__}


class _ThreadedKedroDataset(KedroCatalogDataset):
    """A Kedro dataset whose data lives outside the process: used in worker threads."""

    persistent: ClassVar[bool] = True

    async def kedro_load(self) -> Any:
        return await anyio.to_thread.run_sync(self.kedro_catalog.load, self.name)

    async def kedro_save(self, data: Any) -> None:
        await anyio.to_thread.run_sync(self.kedro_catalog.save, self.name, data)

    def _load(self) -> Any:
        return self.kedro_catalog.load(self.name)

    def _save(self, data: Any) -> None:
        self.kedro_catalog.save(self.name, data)

    def _exists(self) -> bool:  # type: ignore[override]
        return bool(self.kedro_catalog.exists(self.name))

    def _release(self) -> None:  # type: ignore[override]
        self.kedro_catalog.release(self.name)


class _InlineKedroDataset(KedroCatalogDataset):
    """A Kedro ``MemoryDataset``: its data is in this process, so it is used in line."""

    persistent: ClassVar[bool] = False
    instant: ClassVar[bool] = True

    async def kedro_load(self) -> Any:
        return self.kedro_catalog.load(self.name)

    async def kedro_save(self, data: Any) -> None:
        self.kedro_catalog.save(self.name, data)

    async def _load(self) -> Any:
        return self.kedro_catalog.load(self.name)

    async def _save(self, data: Any) -> None:
        self.kedro_catalog.save(self.name, data)

    async def _exists(self) -> bool:
        return bool(self.kedro_catalog.exists(self.name))

    async def _release(self) -> None:
        self.kedro_catalog.release(self.name)


def _in_memory(dataset: object) -> bool:
    from kedro.io import MemoryDataset as KedroMemory

    return isinstance(dataset, KedroMemory)


def translate_catalog(
    catalog: CatalogProtocol, names: Iterable[str]
) -> DataCatalog:
    """A pipeloop catalog over ``catalog`` for the datasets ``names``.

    Kedro's runner has already made every name a dataset of ``catalog`` (a ``MemoryDataset``
    for names the project does not declare), so outputs land in Kedro's catalog, where
    Kedro's ``run`` returns them from.

    Args:
        catalog: Kedro's catalog of the run.
        names: every dataset name the pipeline uses.
    """
    datasets: dict[str, AbstractDataset] = {}
    for name in sorted(names):
        dataset = catalog.get(name, fallback_to_runtime_pattern=True)
        adapter = _InlineKedroDataset if _in_memory(dataset) else _ThreadedKedroDataset
        datasets[name] = adapter(catalog, name)
    return _KedroRunCatalog(catalog, datasets)


class _KedroRunCatalog(DataCatalog):
    """The run's catalog: moves data of Kedro's datasets straight through Kedro's catalog.

    pipeloop's ``DataCatalog.load`` would log its own "Loading data from" line next to
    Kedro's and wrap Kedro's errors; the adapters' ``kedro_load``/``kedro_save`` do neither.
    The scheduler loads, saves and confirms through the run's catalog, so this is the one
    place.
    """

    def __init__(self, kedro_catalog: CatalogProtocol,
                 datasets: dict[str, AbstractDataset]) -> None:
        super().__init__(datasets)
        self.kedro_catalog = kedro_catalog

    async def confirm(self, name: str) -> None:
        """Kedro's ``catalog.confirm(name)``, in a worker thread (the dataset need not be
        one the pipeline reads or writes)."""
        await anyio.to_thread.run_sync(self.kedro_catalog.confirm, name)

    async def load(self, name: str, version: str | None = None) -> Any:
        dataset = self.get(name)
        if isinstance(dataset, KedroCatalogDataset) and version is None:
            return await dataset.kedro_load()
        return await super().load(name, version)

    async def save(self, name: str, data: Any) -> None:
        dataset = self.get(name)
        if isinstance(dataset, KedroCatalogDataset):
            await dataset.kedro_save(data)
        else:
            await super().save(name, data)
