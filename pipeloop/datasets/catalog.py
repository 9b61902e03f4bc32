"""``DataCatalog``: the registry of datasets a pipeline reads and writes, by name.

The catalog is the only place that knows where data lives. Nodes name datasets; runners ask
the catalog to load and save them. Parameters are ordinary entries (``parameters`` and
``params:<dotted.key>``), so nodes read them like any other input.
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.memory import MemoryDataset
from pipeloop.errors import DatasetAlreadyExistsError, DatasetError, DatasetNotFoundError

__all__ = ["DataCatalog", "parameter_entries"]

logger = logging.getLogger("pipeloop.datasets.catalog")


def parameter_entries(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The catalog entries for a parameters mapping: ``parameters`` holding all of it, and
    ``params:<key>`` for every key at every depth (``params:model.lr``)."""
    entries: dict[str, Any] = {"parameters": dict(parameters)}

    def add(prefix: str, value: Any) -> None:
        entries[f"params:{prefix}"] = value
        if isinstance(value, Mapping):
            for key, inner in value.items():
                add(f"{prefix}.{key}", inner)

    for key, value in parameters.items():
        add(str(key), value)
    return entries


class DataCatalog:
    """Datasets by name, with async ``load``/``save``/``exists``/``release``.

    Args:
        datasets: name -> dataset to start with.

    Example:
        >>> io = DataCatalog({"xs": MemoryDataset()})
        >>> io.list()
        ['xs']
    """

    def __init__(self, datasets: Mapping[str, AbstractDataset] | None = None) -> None:
        self._datasets: dict[str, AbstractDataset] = {}
        for name, dataset in (datasets or {}).items():
            self.add(name, dataset)

    # -- registry -----------------------------------------------------------------------

    def _resolve(self, name: str) -> AbstractDataset | None:
        """The dataset registered as ``name``, or ``None``. Subclasses and factories extend
        this to create datasets on first use."""
        return self._datasets.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self._resolve(name) is not None

    def __getitem__(self, name: str) -> AbstractDataset:
        dataset = self._resolve(name)
        if dataset is None:
            raise DatasetNotFoundError(self._not_found_message(name))
        return dataset

    def get(self, name: str, default: AbstractDataset | None = None) -> AbstractDataset | None:
        """The dataset registered as ``name``, or ``default``."""
        dataset = self._resolve(name)
        return default if dataset is None else dataset

    def _not_found_message(self, name: str) -> str:
        message = f"Dataset '{name}' not found in the catalog."
        matches = difflib.get_close_matches(name, list(self._datasets), n=3)
        if matches:
            message += f" Did you mean one of these instead: {', '.join(matches)}?"
        return message

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._datasets))

    def __len__(self) -> int:
        return len(self._datasets)

    def keys(self) -> list[str]:
        """Registered dataset names, in the order they were added."""
        return list(self._datasets)

    def list(self, regex_search: str | None = None) -> list[str]:
        """Registered dataset names in the order they were added, optionally only those
        matching ``regex_search``.

        Raises:
            DatasetError: ``regex_search`` is not a valid regular expression.
        """
        if regex_search is None:
            return list(self._datasets)
        try:
            pattern = re.compile(regex_search, flags=re.IGNORECASE)
        except re.error as exc:
            raise DatasetError(f"Invalid regular expression {regex_search!r}: {exc}") from exc
        return [name for name in self._datasets if pattern.search(name)]

    def add(self, name: str, dataset: AbstractDataset, replace: bool = False) -> None:
        """Register ``dataset`` as ``name``.

        Raises:
            DatasetAlreadyExistsError: ``name`` is taken and ``replace`` is false.
            DatasetError: ``dataset`` is not an ``AbstractDataset``.
        """
        if not isinstance(dataset, AbstractDataset):
            raise DatasetError(
                f"Cannot add '{name}' to the catalog: {type(dataset).__name__} is not a "
                "dataset (wrap plain data in MemoryDataset, or use add_feed_dict)."
            )
        if not replace and name in self._datasets:
            raise DatasetAlreadyExistsError(
                f"Dataset '{name}' has already been registered; pass replace=True to "
                "replace it."
            )
        self._datasets[name] = dataset

    def add_feed_dict(self, feed_dict: Mapping[str, Any], replace: bool = False) -> None:
        """Register data by name: datasets as they are, anything else in a MemoryDataset."""
        for name, data in feed_dict.items():
            dataset = data if isinstance(data, AbstractDataset) else MemoryDataset(data=data)
            self.add(name, dataset, replace=replace)

    def add_parameters(self, parameters: Mapping[str, Any], replace: bool = True) -> None:
        """Register ``parameters`` and ``params:<key>`` for every (nested) key."""
        self.add_feed_dict(parameter_entries(parameters), replace=replace)

    def shallow_copy(self) -> DataCatalog:
        """A new catalog holding the same dataset objects; adding to it leaves this one
        unchanged (runners add their default datasets to such a copy)."""
        copied = object.__new__(type(self))
        copied.__dict__.update(self.__dict__)
        copied._datasets = dict(self._datasets)
        return copied

    # -- data -----------------------------------------------------------------------------

    async def load(self, name: str) -> Any:
        """Load the data of dataset ``name``.

        Raises:
            DatasetNotFoundError: no dataset of that name.
            DatasetError: the load failed.
        """
        dataset = self[name]
        logger.info("Loading data from `%s` (%s)...", name, type(dataset).__name__)
        return await dataset.load()

    async def save(self, name: str, data: Any) -> None:
        """Save ``data`` to dataset ``name``.

        Raises:
            DatasetNotFoundError: no dataset of that name.
            DatasetError: the save failed.
        """
        dataset = self[name]
        logger.info("Saving data to `%s` (%s)...", name, type(dataset).__name__)
        await dataset.save(data)

    async def exists(self, name: str) -> bool:
        """Whether dataset ``name`` is registered and has data."""
        dataset = self._resolve(name)
        return dataset is not None and await dataset.exists()

    async def release(self, name: str) -> None:
        """Let dataset ``name`` drop data it holds in memory.

        Raises:
            DatasetNotFoundError: no dataset of that name.
        """
        await self[name].release()

    def __repr__(self) -> str:
        entries = ", ".join(f"{name!r}: {dataset!r}" for name, dataset in self._datasets.items())
        return f"DataCatalog({{{entries}}})"
