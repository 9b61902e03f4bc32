"""The dataset a runner puts in a run's catalog in place of a declared one, when the data
stays elsewhere (on a worker process, on a Dask cluster): it answers ``exists`` and
``describe`` as the declared one does, and log lines name the declared one's type."""

from __future__ import annotations

from typing import Any

from pipeloop.datasets.base import AbstractDataset

__all__ = ["StandIn"]


class StandIn(AbstractDataset):
    """Takes the place of ``dataset`` in a run's catalog; subclasses say how it loads and
    saves."""

    def __init__(self, dataset: AbstractDataset) -> None:
        self.dataset = dataset

    @property
    def stands_for(self) -> AbstractDataset:
        """The dataset this one takes the place of (log lines name its type)."""
        return self.dataset

    async def _exists(self) -> bool:
        return await self.dataset.exists()

    def _describe(self) -> dict[str, Any]:
        return self.dataset._describe()

    def __repr__(self) -> str:
        return repr(self.dataset)
