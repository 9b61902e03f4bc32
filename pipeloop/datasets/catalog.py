"""``DataCatalog``: the registry of datasets a pipeline reads and writes, by name.

The catalog is the only place that knows where data lives. Nodes name datasets; runners ask
the catalog to load and save them. Parameters are ordinary entries (``parameters`` and
``params:<dotted.key>``), so nodes read them like any other input.

``DataCatalog.from_config`` builds a catalog from configuration (``catalog.yml``); entries
named by a pattern (``"{name}_csv"``) are dataset factories, which make the datasets they
match on first use (see :mod:`pipeloop.datasets.patterns`).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.memory import MemoryDataset
from pipeloop.datasets.patterns import DatasetFactories, is_pattern
from pipeloop.datasets.types import (
    EntryBuilder,
    check_entry,
    is_versioned,
    mask_secrets,
    resolve_credentials,
    secret_strings,
)
from pipeloop.errors import (
    ConfigError,
    DatasetAlreadyExistsError,
    DatasetError,
    DatasetNotFoundError,
)

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
        self._factories: DatasetFactories | None = None
        self._secrets: frozenset[str] = frozenset()
        for name, dataset in (datasets or {}).items():
            self.add(name, dataset)

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, Any] | None,
        credentials: Mapping[str, Any] | None = None,
        load_versions: Mapping[str, str] | None = None,
        save_version: str | None = None,
    ) -> DataCatalog:
        """A catalog built from configuration, as in ``catalog.yml``.

        Each entry maps a dataset name to ``type:`` (a short name from
        ``pipeloop.datasets`` such as ``JSONDataset`` or ``pandas.CSVDataset``, or the dotted
        path of any ``AbstractDataset`` subclass) and the dataset's own arguments. An entry may
        also hold ``credentials: <name>`` (looked up in ``credentials`` and passed as the
        dataset's ``credentials`` argument) and ``versioned: true``. Names holding
        placeholders (``"{name}_csv"``) are dataset factories. Top-level keys starting with
        ``_`` are ignored (YAML anchors).

        Args:
            config: dataset name or pattern -> entry.
            credentials: credentials name -> credentials.
            load_versions: dataset name -> version to load, for versioned entries.
            save_version: the version every versioned dataset saves; one is generated when
                omitted, so all the datasets of a run share it.

        Returns:
            The catalog, with a dataset for every plain entry and the factories.

        Raises:
            ConfigError: an invalid entry (not a mapping, unknown or missing ``type``, unknown
                argument, unknown credentials, versioning a dataset that cannot be), a
                malformed pattern, or a ``load_versions`` name that no versioned entry has.
        """
        credentials = credentials or {}
        entries = {
            name: resolve_credentials(f"'{name}'", entry, credentials)
            for name, entry in _entries(config).items()
        }
        secrets = frozenset(secret_strings([credentials, *map(_inline_credentials,
                                                              entries.values())]))
        if save_version is None and any(map(is_versioned, entries.values())):
            save_version = _generate_save_version()
        versions = dict(load_versions or {})
        build = EntryBuilder(load_versions=versions, save_version=save_version, secrets=secrets)
        plain = {name: entry for name, entry in entries.items() if not is_pattern(name)}
        factories = _factories(
            {name: entry for name, entry in entries.items() if is_pattern(name)}, build
        )
        _check_load_versions(versions, plain, factories)
        catalog = cls({name: build(name, f"'{name}'", entry) for name, entry in plain.items()})
        catalog._factories = factories
        catalog._secrets = secrets
        return catalog

    @property
    def secrets(self) -> frozenset[str]:
        """The strings of the credentials this catalog was built with (``from_config``'s
        ``credentials`` and inline ``credentials:`` mappings), for masking: pass them to
        :class:`~pipeloop.MaskSecretsFilter`. Empty for a catalog made in Python."""
        return self._secrets

    # -- registry -----------------------------------------------------------------------

    def _resolve(self, name: str) -> AbstractDataset | None:
        """The dataset registered as ``name``; else one made by the first dataset factory
        ``name`` matches (and registered, so later calls get the same dataset); else
        ``None``.

        Raises:
            ConfigError: the matching factory does not make a valid dataset.
        """
        dataset = self._datasets.get(name)
        if dataset is None and self._factories is not None:
            dataset = self._factories.create(name)
            if dataset is not None:
                self._datasets[name] = dataset
        return dataset

    def list_patterns(self) -> list[str]:
        """The dataset factories' patterns, in the order they are tried."""
        return [] if self._factories is None else self._factories.list()

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
        patterns = f", patterns={self.list_patterns()!r}" if self._factories else ""
        return mask_secrets(f"{type(self).__name__}({{{entries}}}{patterns})", self._secrets)


def _entries(config: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The entries of a catalog configuration, without the ``_``-prefixed keys.

    Raises:
        ConfigError: the configuration is not a mapping, or an entry is not one.
    """
    if config is None:
        return {}
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"The catalog configuration must be a mapping of dataset names to entries, "
            f"not {type(config).__name__}."
        )
    entries: dict[str, dict[str, Any]] = {}
    for name, entry in config.items():
        if not isinstance(name, str):
            raise ConfigError(f"Catalog entry {name!r}: dataset names must be strings.")
        if name.startswith("_"):
            continue
        if not isinstance(entry, Mapping):
            raise ConfigError(
                f"Catalog entry '{name}' must be a mapping with a 'type' and the dataset's "
                f"arguments, not {type(entry).__name__}."
            )
        entries[name] = dict(entry)
    return entries


def _generate_save_version() -> str:
    from pipeloop.datasets.file import generate_timestamp

    return generate_timestamp()


def _factories(
    patterns: Mapping[str, Mapping[str, Any]], build: EntryBuilder
) -> DatasetFactories | None:
    """The dataset factories of the ``patterns`` entries (``None`` without any), each entry
    checked as far as it can be before a dataset name fills it in."""
    for name, entry in patterns.items():
        check_entry(f"'{name}'", entry)
    return DatasetFactories(patterns, build) if patterns else None


def _inline_credentials(entry: Mapping[str, Any]) -> Any:
    """The credentials values an entry holds (at any depth), for masking."""
    found = [value for key, value in entry.items() if key == "credentials"]
    found += [_inline_credentials(value) for value in entry.values() if isinstance(value, Mapping)]
    return found


def _check_load_versions(
    versions: Mapping[str, str],
    plain: Mapping[str, Mapping[str, Any]],
    factories: DatasetFactories | None,
) -> None:
    """Raise a ConfigError for a ``load_versions`` name that no versioned entry makes."""
    for name in versions:
        if name in plain:
            entry: Mapping[str, Any] | None = plain[name]
        else:
            matched = factories.match(name) if factories is not None else None
            entry = matched[0].config if matched is not None else None
        if entry is None:
            raise ConfigError(
                f"load_versions names the dataset '{name}', which is not in the catalog."
            )
        if not is_versioned(entry):
            raise ConfigError(
                f"load_versions names the dataset '{name}', whose catalog entry is not "
                "versioned; add 'versioned: true' to it or drop the load version."
            )
