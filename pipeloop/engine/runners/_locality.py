"""Data locality for ``ParallelRunner``: file datasets a worker can open are loaded and
saved there, so their data never crosses to the parent and back.

A dataset qualifies when it is one of pipeloop's own file datasets, a kedro-datasets (or
Kedro) dataset through :class:`~pipeloop.datasets.kedro_adapter.KedroDataset`, or of a
class that says ``worker_io = True`` (a copy of it is used in the worker: a class whose
objects share state in this process must not say so); when it has a ``filepath``, is not
versioned (a save version is settled in the parent) and pickles; and when every node of
the run that reads or writes it is a plain, non-generator function (those run in a
worker). In the run's
catalog it is replaced by a stand-in: ``load`` hands out a marker the worker resolves, and
``save`` of what a worker already saved does nothing. Hooks in the parent see those
markers where other runners pass data (as with ``DaskRunner``).
"""

from __future__ import annotations

import contextlib
import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeloop.datasets.atomic import TEMPORARY_SUFFIX
from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.kedro_adapter import KedroDataset
from pipeloop.engine.runners._stand_in import StandIn
from pipeloop.engine.runners._worker import LoadHere, SavedThere

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["InWorkerDataset", "place", "remove_temporaries"]


class InWorkerDataset(StandIn):
    """Stands for ``dataset`` in a run's catalog; the workers load and save it."""

    def __init__(self, name: str, dataset: AbstractDataset) -> None:
        super().__init__(dataset)
        self.name = name

    async def _load(self) -> Any:
        return LoadHere(self.name, self.dataset)

    async def _save(self, data: Any) -> None:
        if not isinstance(data, SavedThere):
            await self.dataset.save(data)


def _filepath(dataset: Any) -> Any:
    for candidate in (dataset, getattr(dataset, "dataset", None)):
        if candidate is None:
            continue
        for attribute in ("filepath", "_filepath"):
            path = getattr(candidate, attribute, None)
            if path is not None and not callable(path):
                return path
    return None


_KNOWN_MODULES = ("pipeloop.datasets.", "kedro_datasets.", "kedro.io.")


def _known(dataset: Any) -> bool:
    """One of the dataset classes known to keep no state beyond their configuration."""
    if getattr(type(dataset), "worker_io", False):
        return True
    inner = dataset.dataset if isinstance(dataset, KedroDataset) else dataset
    if isinstance(dataset, KedroDataset) and getattr(type(inner), "worker_io", False):
        return True
    return type(inner).__module__.startswith(_KNOWN_MODULES)


def _qualifies(dataset: AbstractDataset) -> bool:
    if (not _known(dataset) or _filepath(dataset) is None
            or getattr(dataset, "versioned", False)):
        return False
    try:
        pickle.dumps(dataset)
    except Exception:
        return False
    return True


def place(pipeline: Pipeline, catalog: DataCatalog) -> dict[str, InWorkerDataset]:
    """The run-catalog replacements for datasets the workers load and save themselves."""
    in_parent: set[str] = set()
    for node in pipeline.nodes:
        if node.is_async or node.is_generator:
            in_parent.update(node.inputs)
            in_parent.update(node.outputs)
    placed = {}
    for name in sorted(pipeline.datasets() - in_parent):
        dataset = catalog[name]
        if _qualifies(dataset):
            placed[name] = InWorkerDataset(name, dataset)
    return placed


def remove_temporaries(datasets: list[Any], pid: int) -> None:
    """Remove what a killed worker ``pid`` left of its atomic saves to ``datasets``."""
    for dataset in datasets:
        path = _filepath(dataset)
        if not isinstance(path, Path):
            continue
        pattern = f".{path.name}.*-{pid}-*{TEMPORARY_SUFFIX}"
        with contextlib.suppress(OSError):
            for leftover in path.parent.glob(pattern):
                leftover.unlink(missing_ok=True)
