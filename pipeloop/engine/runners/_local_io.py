"""Loads and saves that a ``ParallelRunner`` worker does itself, next to the node it runs
(its datasets' files are reachable from there), so the data never crosses to the parent.

Errors read as the catalog's do: a ``DatasetError`` whose message starts with the name of
the catalog entry.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from pipeloop.datasets.catalog import _prefixed
from pipeloop.errors import DatasetError

__all__ = ["load_all", "save_all"]

logger = logging.getLogger("pipeloop.datasets.catalog")


async def _gather(calls: dict[str, Any], concurrent: bool) -> dict[str, Any]:
    """Await every call, at once when ``concurrent``; raise the first error as it is (not
    in a group)."""
    results: dict[str, Any] = {}
    errors: list[Exception] = []

    async def one(name: str) -> None:
        try:
            results[name] = await calls[name]()
        except DatasetError as exc:
            errors.append(_prefixed(name, exc))
        except Exception as exc:
            errors.append(exc)

    if concurrent:
        async with anyio.create_task_group() as group:
            for name in calls:
                group.start_soon(one, name)
    else:
        for name in calls:
            await one(name)
            if errors:
                break
    if errors:
        raise errors[0]
    return results


async def load_all(datasets: dict[str, Any], concurrent: bool) -> dict[str, Any]:
    """Load every dataset (at once when ``concurrent``), by catalog name."""
    return await _gather({name: dataset.load for name, dataset in datasets.items()},
                         concurrent)


async def save_all(node: Any, pending: dict[str, tuple[Any, Any]], concurrent: bool) -> None:
    """Save each ``(dataset, data)`` (at once when ``concurrent``), by catalog name."""

    def saver(name: str, dataset: Any, data: Any) -> Any:
        async def save() -> None:
            logger.debug("Saving data to `%s` (%s) in the worker of node '%s'...",
                         name, type(dataset).__name__, node.name)
            await dataset.save(data)
        return save

    await _gather({name: saver(name, dataset, data)
                   for name, (dataset, data) in pending.items()}, concurrent)
