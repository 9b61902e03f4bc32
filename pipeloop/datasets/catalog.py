"""``DataCatalog``: the registry of datasets a pipeline reads and writes, by name.

The catalog is the only place that knows where data lives. Nodes name datasets; runners ask
the catalog to load and save them. Parameters are ordinary entries (``parameters`` and
``params:<dotted.key>``), so nodes read them like any other input.

``DataCatalog.from_config`` builds a catalog from configuration (``catalog.yml``); entries
named by a pattern (``"{name}_csv"``) are dataset factories, which make the datasets they
match on first use (see :mod:`pipeloop.datasets.patterns`).
"""

from __future__ import annotations

import copy
import difflib
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pipeloop.datasets.base import AbstractDataset, call_maybe_async
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

    The names and behaviour are Kedro 1.x's (``catalog[name] = value``, ``items()``,
    ``values()``, ``get()``, ``filter()``, ``load(name, version=)``, ``confirm()``), with the
    data methods awaited.

    Example:
        Kedro's example, awaited::

            catalog = DataCatalog(datasets={
                "cars": MemoryDataset(data={"type": "car", "capacity": 5}),
                "planes": MemoryDataset(data={"type": "jet", "capacity": 200}),
            })
            cars_data = await catalog.load("cars")
            await catalog.save("planes", {"type": "propeller", "capacity": 100})
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
        catalog: Mapping[str, Any] | None = None,
        credentials: Mapping[str, Any] | None = None,
        load_versions: Mapping[str, str] | None = None,
        save_version: str | None = None,
        *,
        config: Mapping[str, Any] | None = None,
    ) -> DataCatalog:
        """A catalog built from configuration, as in ``catalog.yml``.

        Each entry maps a dataset name to ``type:`` (a short name from
        ``pipeloop.datasets`` such as ``JSONDataset`` or ``pandas.CSVDataset``, or the dotted
        path of any ``AbstractDataset`` subclass) and the dataset's own arguments. An entry may
        also hold ``credentials: <name>`` (looked up in ``credentials`` and passed as the
        dataset's ``credentials`` argument) and ``versioned: true``. Names holding
        placeholders (``"{name}_csv"``) are dataset factories. Top-level keys starting with
        ``_`` are ignored (YAML anchors).

        The keywords are Kedro's (``catalog=``, ``credentials=``, ``load_versions=``,
        ``save_version=``); ``config=`` is pipeloop's older name of ``catalog``.

        Args:
            catalog: dataset name or pattern -> entry.
            credentials: credentials name -> credentials.
            load_versions: dataset name -> version to load, for versioned entries.
            save_version: the version every versioned dataset saves; one is generated when
                omitted, so all the datasets of a run share it.
            config: the same as ``catalog`` (pipeloop's older keyword; give one of them).

        Returns:
            The catalog, with a dataset for every plain entry and the factories.

        Raises:
            ConfigError: an invalid entry (not a mapping, unknown or missing ``type``, unknown
                argument, unknown credentials, versioning a dataset that cannot be), a
                malformed pattern, a ``load_versions`` name that no versioned entry has, or
                both ``catalog`` and ``config``.

        Example:
            Kedro's example::

                config = {
                    "cars": {"type": "pandas.CSVDataset", "filepath": "cars.csv",
                             "save_args": {"index": False}},
                    "boats": {"type": "pandas.CSVDataset", "filepath": "boats.csv",
                              "credentials": "boats_credentials"},
                }
                credentials = {"boats_credentials": {"client_kwargs": {...}}}
                catalog = DataCatalog.from_config(config, credentials)
                df = await catalog.load("cars")
        """
        if catalog is not None and config is not None:
            raise ConfigError(
                "DataCatalog.from_config takes the catalog configuration once: pass "
                "`catalog=` (Kedro's name) or `config=`, not both."
            )
        config = catalog if catalog is not None else config
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
        made = cls({name: build(name, f"'{name}'", entry) for name, entry in plain.items()})
        made._factories = factories
        made._secrets = secrets
        return made

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

    def __setitem__(self, name: str, value: Any) -> None:
        """Register ``value`` as ``name``, replacing any dataset of that name (as Kedro's
        ``catalog[name] = value``): a dataset is added as it is, anything else is wrapped in
        a ``MemoryDataset``.

        Example:
            >>> catalog = DataCatalog()
            >>> catalog["xs"] = [1, 2]
            >>> catalog["xs"]
            MemoryDataset(data=<list>)
        """
        if name in self._datasets:
            logger.warning("Replacing dataset '%s'", name)
        dataset = value if isinstance(value, AbstractDataset) else MemoryDataset(data=value)
        self._datasets[name] = dataset

    def get(
        self,
        name: str,
        default: AbstractDataset | None = None,
        *,
        fallback_to_runtime_pattern: bool = False,
        version: Any = None,
    ) -> AbstractDataset | None:
        """The dataset registered as ``name`` (or made by a dataset factory it matches), or
        ``default``.

        Args:
            name: the dataset's name.
            default: what to return when the catalog has no such dataset.
            fallback_to_runtime_pattern: as in Kedro, register a new ``MemoryDataset`` for
                a name the catalog does not have (the dataset a run would make), and return
                it.
            version: a load version (a string, or a ``Version`` whose ``load`` and ``save``
                are used): returns a copy of the versioned dataset pinned to it, leaving the
                registered one as it was.

        Raises:
            DatasetError: ``version`` for a dataset that is not versioned.
            VersionError: ``version`` is not a valid version name.
        """
        dataset = self._resolve(name)
        if dataset is None and fallback_to_runtime_pattern:
            dataset = self._datasets[name] = MemoryDataset()
        if dataset is None:
            return default
        return dataset if version is None else _pinned(name, dataset, version)

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

    def values(self) -> list[AbstractDataset]:
        """Registered datasets, in the order they were added."""
        return list(self._datasets.values())

    def items(self) -> list[tuple[str, AbstractDataset]]:
        """``(name, dataset)`` for every registered dataset, in the order they were added."""
        return list(self._datasets.items())

    def filter(
        self,
        name_regex: re.Pattern[str] | str | None = None,
        type_regex: re.Pattern[str] | str | None = None,
        by_type: type | Sequence[type] | None = None,
    ) -> list[str]:
        """Registered dataset names that match every filter given, as Kedro's ``filter``.

        Args:
            name_regex: searched for in each name (a string or a compiled pattern).
            type_regex: searched for in each dataset's full type path, such as
                ``pipeloop.datasets.pandas.csv.CSVDataset``.
            by_type: a dataset class, or several: keeps datasets of exactly those classes
                (as Kedro compares them: a subclass is another type).

        Raises:
            DatasetError: a regular expression is invalid.

        Example:
            >>> catalog = DataCatalog({"raw_cars": MemoryDataset(), "model": MemoryDataset()})
            >>> catalog.filter(name_regex="raw", by_type=MemoryDataset)
            ['raw_cars']
        """
        names = self.keys()
        if name_regex:
            pattern = _compiled(name_regex)
            names = [name for name in names if pattern.search(name)]
        if type_regex:
            pattern = _compiled(type_regex)
            names = [name for name in names if pattern.search(_type_path(self._datasets[name]))]
        if by_type:
            types = tuple(by_type) if isinstance(by_type, Sequence) else (by_type,)
            names = [name for name in names if type(self._datasets[name]) in types]
        return names

    def list(self, regex_search: str | None = None) -> list[str]:
        """Registered dataset names in the order they were added, optionally only those
        matching ``regex_search``.

        Raises:
            DatasetError: ``regex_search`` is not a valid regular expression.
        """
        if regex_search is None:
            return list(self._datasets)
        pattern = _compiled(regex_search, flags=re.IGNORECASE)
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

    async def load(self, name: str, version: str | None = None) -> Any:
        """Load the data of dataset ``name``.

        Args:
            name: the dataset's name.
            version: the version to load, for a versioned dataset (the catalog's dataset is
                left pinned as it was).

        Raises:
            DatasetNotFoundError: no dataset of that name.
            DatasetError: the load failed; the message starts with ``name``.
        """
        dataset = self[name]
        if version is not None:
            dataset = _pinned(name, dataset, version)
        if logger.isEnabledFor(logging.INFO):
            logger.info("Loading data from `%s` (%s)...", name, _kind(dataset))
        try:
            return await dataset.load()
        except DatasetError as exc:
            raise _prefixed(name, exc) from exc

    async def save(self, name: str, data: Any) -> None:
        """Save ``data`` to dataset ``name``.

        Raises:
            DatasetNotFoundError: no dataset of that name.
            DatasetError: the save failed; the message starts with ``name``.
        """
        dataset = self[name]
        if logger.isEnabledFor(logging.INFO):
            logger.info("Saving data to `%s` (%s)...", name, _kind(dataset))
        try:
            await dataset.save(data)
        except DatasetError as exc:
            raise _prefixed(name, exc) from exc

    async def confirm(self, name: str) -> None:
        """Call the ``confirm()`` method of dataset ``name`` (plain, run in a worker thread,
        or ``async def``), as Kedro does for ``node(confirms=...)``: datasets such as
        incremental ones record there that their data was processed.

        Raises:
            DatasetNotFoundError: no dataset of that name.
            DatasetError: the dataset has no ``confirm`` method, or it failed; the message
                starts with ``name``.
        """
        logger.info("Confirming dataset '%s'", name)
        dataset = self[name]
        confirm = getattr(dataset, "confirm", None)
        if not callable(confirm):
            raise DatasetError(
                f"Dataset '{name}' ({type(dataset).__name__}) does not have a 'confirm' "
                "method; only datasets that define one can be confirmed."
            )
        try:
            await call_maybe_async(confirm)
        except DatasetError as exc:
            raise _prefixed(name, exc) from exc
        except Exception as exc:
            raise DatasetError(
                f"{name}: Failed while confirming dataset {dataset}.\n{exc}"
            ) from exc

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


def _compiled(regex: re.Pattern[str] | str, flags: int = 0) -> re.Pattern[str]:
    """``regex`` compiled.

    Raises:
        DatasetError: ``regex`` is not a valid regular expression.
    """
    if isinstance(regex, re.Pattern):
        return regex
    try:
        return re.compile(regex, flags=flags)
    except re.error as exc:
        raise DatasetError(f"Invalid regular expression {regex!r}: {exc}") from exc


def _type_path(dataset: AbstractDataset) -> str:
    cls = type(dataset)
    return f"{cls.__module__}.{cls.__qualname__}"


def _prefixed(name: str, exc: DatasetError) -> DatasetError:
    """``exc`` as Kedro's catalog reports it, its message starting with the catalog entry's
    name; pipeloop's own error classes (``VersionError``, ...) keep their type, any other
    becomes a ``DatasetError`` (its constructor may not take a message)."""
    cls = type(exc) if type(exc).__module__ == DatasetError.__module__ else DatasetError
    return cls(f"{name}: {exc}")


def _kind(dataset: AbstractDataset) -> str:
    """The dataset type a log line shows: for a runner's stand-in (data kept on a worker or a
    cluster), the type of the dataset it ``stands_for``, which is what the user declared."""
    return type(getattr(dataset, "stands_for", dataset)).__name__


def _pinned(name: str, dataset: AbstractDataset, version: Any) -> AbstractDataset:
    """A copy of the versioned ``dataset`` that loads ``version`` (a version string, or a
    ``Version`` whose ``load`` and ``save`` are both taken), as Kedro's ``get(version=)``.

    Works for every dataset that keeps its versions in ``_version`` as a
    ``Version(load, save)`` named tuple: pipeloop's file datasets and Kedro's.

    Raises:
        DatasetError: ``dataset`` is not versioned.
        VersionError: the version is not a valid version name.
    """
    from pipeloop.datasets.file import _checked_version

    current: Any = getattr(dataset, "_version", None)
    if not hasattr(current, "_replace") or not getattr(dataset, "versioned", True):
        raise DatasetError(
            f"Cannot load version {getattr(version, 'load', version)!r} of dataset '{name}': "
            f"{dataset} is not versioned."
        )
    if isinstance(version, str):
        load, save = version, current.save
    else:
        load, save = version.load, version.save
    pinned = copy.copy(dataset)
    pinned._version = current._replace(  # type: ignore[attr-defined]
        load=_checked_version(load, "load"), save=_checked_version(save, "save")
    )
    return pinned


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
