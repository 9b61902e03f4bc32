"""From one catalog entry to a dataset: ``type:``, ``credentials:``, ``versioned:`` and the
constructor's arguments, each checked so that bad configuration is a clear ``ConfigError``.

``type:`` names, tried in this order:

1. pipeloop's own dataset, by short name (``JSONDataset``, ``pandas.CSVDataset``) or in
   Kedro's spellings of it: the old ``DataSet`` ending (``JSONDataSet``), the module form
   (``pickle.PickleDataset``) and Kedro's prefixes (``kedro_datasets.pandas.CSVDataset``,
   ``kedro.io.MemoryDataset``). pipeloop's class wins wherever it has one of that name;
2. the full dotted path of any dataset class (``my_project.datasets.SQLDataset``);
3. a ``kedro-datasets`` class by Kedro's short name (``pandas.ExcelDataset``,
   ``plotly.PlotlyDataset``), when that package is installed.

A class that follows Kedro's dataset protocol rather than pipeloop's (every class of
``kedro-datasets``) is wrapped in :class:`~pipeloop.datasets.kedro_adapter.KedroDataset`. A
name that resolves nowhere says what to install.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import importlib.util
import inspect
import pkgutil
import re
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from pipeloop.datasets.base import AbstractDataset
from pipeloop.datasets.kedro_adapter import KedroDataset, is_kedro_dataset_class, kedro_version
from pipeloop.datasets.secrets import SecretMasker, secret_strings
from pipeloop.errors import ConfigError

__all__ = [
    "EntryBuilder",
    "MaskedCredentials",
    "create_dataset",
    "known_dataset_types",
    "mask_secrets",
    "resolve_credentials",
    "resolve_type",
    "secret_strings",
]

_PACKAGE = "pipeloop.datasets"
_NOT_DATASETS = frozenset({"atomic", "base", "catalog", "config", "interpolation",
                           "kedro_adapter", "patterns", "remote", "runtime_params", "secrets",
                           "types", "yaml_loader"})
_KEDRO_DATASETS = "kedro_datasets"
_KEDRO_PREFIXES = ("kedro_datasets.", "kedro.io.", "kedro.extras.datasets.")
_KEDRO_INSTALL = "pip install 'pipeloop[kedro]'"
_MASK = "***"


# -- credentials ----------------------------------------------------------------------------


class MaskedCredentials(dict[str, Any]):
    """A credentials mapping whose ``repr`` hides the values, so a dataset that shows its
    arguments in ``repr`` or in error messages never shows a secret."""

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{key!r}: '{_MASK}'" for key in self) + "}"

    __str__ = __repr__


def resolve_credentials(
    label: str, config: Mapping[str, Any], credentials: Mapping[str, Any]
) -> dict[str, Any]:
    """A copy of ``config`` where each ``credentials: <name>`` (at any depth) is replaced by
    ``credentials[<name>]``; inline credentials mappings are kept, masked.

    Raises:
        ConfigError: a credentials name that ``credentials`` does not hold.
    """

    def resolve(key: Any, value: Any) -> Any:
        if key == "credentials" and isinstance(value, str):
            if value not in credentials:
                raise ConfigError(
                    f"Catalog entry {label} uses the credentials '{value}', which are not "
                    f"in the credentials configuration{_suggest(value, map(str, credentials))}."
                )
            value = credentials[value]
        if key == "credentials" and isinstance(value, Mapping):
            return MaskedCredentials(value)
        if isinstance(value, Mapping):
            return {inner_key: resolve(inner_key, inner) for inner_key, inner in value.items()}
        return value

    return {key: resolve(key, value) for key, value in config.items()}


def mask_secrets(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (in its quoted forms too) replaced by
    ``***``."""
    return _masker(frozenset(secrets)).mask(text)


@functools.lru_cache(maxsize=64)
def _masker(secrets: frozenset[str]) -> SecretMasker:
    return SecretMasker(secrets)


# -- type: ----------------------------------------------------------------------------------


def _suggest(name: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(match) for match in matches)}?)" if matches else ""


def _datasets_in(module: ModuleType, prefix: str) -> dict[str, type[AbstractDataset]]:
    return {
        prefix + name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, AbstractDataset)
        and not inspect.isabstract(value)
        and not name.startswith(("Abstract", "_"))
        and value.__module__.startswith(module.__name__)
    }


@functools.cache
def _short_names(include_subpackages: bool) -> dict[str, type[AbstractDataset]]:
    """Dataset classes of ``pipeloop.datasets`` by short name (``pandas.CSVDataset`` for
    sub-packages). Sub-packages whose extra is not installed are skipped."""
    package = importlib.import_module(_PACKAGE)
    found: dict[str, type[AbstractDataset]] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name in _NOT_DATASETS or info.name.startswith("_"):
            continue
        if info.ispkg and not include_subpackages:
            continue
        try:
            module = importlib.import_module(f"{_PACKAGE}.{info.name}")
        except ImportError:
            continue
        found.update(_datasets_in(module, f"{info.name}." if info.ispkg else ""))
    found.update(_datasets_in(package, ""))
    return found


def known_dataset_types() -> list[str]:
    """The short ``type:`` names pipeloop ships, sorted (sub-packages whose extra is not
    installed are left out)."""
    return sorted(_short_names(True))


def _import_attribute(module_name: str, attribute: str, *, label: str, type_name: str) -> Any:
    """``module_name.attribute``, or ``None`` when the module or attribute does not exist.

    Raises:
        ConfigError: the module exists but importing it fails (a missing optional
            dependency, or an error in the user's module).
    """
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_name + ".").startswith(exc.name + "."):
            return None  # the module itself (or its package) does not exist
        raise _import_failed(label, type_name, exc) from exc
    except Exception as exc:
        raise _import_failed(label, type_name, exc) from exc
    return getattr(module, attribute, None)


def _kedro_extra(type_name: str) -> str:
    """kedro-datasets' extra for a type (``pandas.ExcelDataset`` -> ``pandas-exceldataset``)."""
    short = type_name.removeprefix(_KEDRO_PREFIXES[0])
    module_part, _, attribute = short.rpartition(".")
    return f"{module_part.replace('.', '-')}-{attribute.lower()}" if module_part else ""


def _is_kedro_name(type_name: str) -> bool:
    return type_name.startswith(_KEDRO_PREFIXES[0])


def _import_failed(label: str, type_name: str, exc: Exception) -> ConfigError:
    hint = ""
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        hint = f" Install the missing package '{exc.name}'"
        if exc.name == "pandas" and not _is_kedro_name(type_name):
            hint += " (pip install 'pipeloop[pandas]')."
        elif _is_kedro_name(type_name) and _kedro_extra(type_name):
            hint += f" (pip install 'kedro-datasets[{_kedro_extra(type_name)}]')."
        else:
            hint += "."
    return ConfigError(
        f"Catalog entry {label}: cannot import the dataset type '{type_name}': "
        f"{type(exc).__name__}: {exc}.{hint}"
    )


def _own_spelling(type_name: str) -> str:
    """Kedro's spelling of a dataset name as pipeloop spells its own: no Kedro prefix, the
    ``Dataset`` ending."""
    for prefix in _KEDRO_PREFIXES:
        if type_name.startswith(prefix):
            type_name = type_name[len(prefix):]
            break
    return re.sub(r"DataSet$", "Dataset", type_name)


def _own_type(type_name: str) -> type[AbstractDataset] | None:
    """pipeloop's own dataset of that (short or module-qualified) name, if it has one."""
    module_part, _, attribute = type_name.rpartition(".")
    if not module_part:
        found = _short_names(False).get(type_name)
        return found if found is not None else _short_names(True).get(type_name)
    if module_part.split(".")[0] in _NOT_DATASETS:
        return None
    try:
        module = importlib.import_module(f"{_PACKAGE}.{module_part}")
    except ImportError:
        return None
    found = getattr(module, attribute, None)
    return found if isinstance(found, type) and issubclass(found, AbstractDataset) else None


def _find_type(type_name: str, label: str) -> Any:
    own = _own_type(type_name) or _own_type(_own_spelling(type_name))
    if own is not None:
        return own
    module_part, _, attribute = type_name.rpartition(".")
    if module_part and f"{_PACKAGE}.{module_part}".startswith(f"{_PACKAGE}.pandas"):
        # pipeloop's pandas sub-package exists but cannot import: say what to install.
        _import_attribute(f"{_PACKAGE}.{module_part}", attribute, label=label,
                          type_name=type_name)
    found = None
    if module_part:
        found = _import_attribute(module_part, attribute, label=label, type_name=type_name)
    if found is None and not _is_kedro_name(type_name) and "." in type_name:
        kedro_name = f"{_KEDRO_DATASETS}.{_own_spelling(type_name)}"
        if importlib.util.find_spec(_KEDRO_DATASETS) is not None:
            kedro_module, _, kedro_attribute = kedro_name.rpartition(".")
            found = _import_attribute(kedro_module, kedro_attribute, label=label,
                                      type_name=kedro_name)
    return found


def _not_found(type_name: str, label: str) -> ConfigError:
    message = (f"Catalog entry {label}: unknown dataset type '{type_name}'"
               f"{_suggest(type_name, known_dataset_types())}.")
    if "." in type_name and importlib.util.find_spec(_KEDRO_DATASETS) is None:
        extra = _kedro_extra(_own_spelling(type_name))
        return ConfigError(
            f"{message} It is neither a pipeloop dataset nor an importable class; if it is "
            f"one of kedro-datasets' classes, install them: {_KEDRO_INSTALL} "
            f"'kedro-datasets[{extra}]'."
        )
    return ConfigError(
        f"{message} Use a dataset name from pipeloop.datasets or kedro-datasets, or the full "
        "dotted path of a dataset class."
    )


def resolve_type(type_name: Any, *, label: str) -> type:
    """The dataset class a ``type:`` string names: a pipeloop dataset, or a class that
    follows Kedro's dataset protocol (which :func:`create_dataset` wraps).

    Args:
        type_name: a short name (``JSONDataset``, ``pandas.CSVDataset``) in pipeloop's or
            Kedro's spelling, a dotted path (``my_package.datasets.MyDataset``), or the
            class itself (from Python).
        label: the entry, quoted, for error messages.

    Raises:
        ConfigError: ``type_name`` is missing, names nothing (the message says what to
            install where that may be why), or names something that is not a dataset.
    """
    if isinstance(type_name, type) and (
        issubclass(type_name, AbstractDataset) or is_kedro_dataset_class(type_name)
    ):
        return type_name
    if type_name is None:
        raise ConfigError(
            f"Catalog entry {label} has no 'type'; set it to a dataset class such as "
            "'MemoryDataset', 'JSONDataset', or a dotted path like 'my_package.MyDataset'."
        )
    if not isinstance(type_name, str) or not type_name.strip():
        raise ConfigError(
            f"Catalog entry {label}: 'type' must be a class name, not {type_name!r}."
        )
    found = _find_type(type_name, label)
    if found is None:
        raise _not_found(type_name, label)
    if not (isinstance(found, type) and (
        issubclass(found, AbstractDataset) or is_kedro_dataset_class(found)
    )):
        raise ConfigError(
            f"Catalog entry {label}: type '{type_name}' is not a dataset (a subclass of "
            "pipeloop.datasets.AbstractDataset, or a class with Kedro's load, save and "
            "_describe)."
        )
    return found


# -- arguments and construction -----------------------------------------------------------


def _check_arguments(cls: type, arguments: Mapping[str, Any], label: str) -> None:
    """Raise a ConfigError for an argument ``cls`` does not take, or a missing one."""
    try:
        signature = inspect.signature(cls)
    except (TypeError, ValueError):
        return  # nothing to check against; the constructor call will tell
    parameters = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    accepted = [
        name
        for name, p in parameters.items()
        if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    for name in arguments:
        if not takes_any and name not in accepted:
            raise ConfigError(
                f"Catalog entry {label}: {cls.__name__} has no argument '{name}'"
                f"{_suggest(str(name), accepted)}; it takes: {', '.join(accepted) or 'none'}."
            )
    try:
        signature.bind(**arguments)
    except TypeError as exc:
        raise ConfigError(f"Catalog entry {label}: {cls.__name__}: {exc}.") from None


def _versioned(
    cls: type, config: dict[str, Any], label: str, load_version: str | None,
    save_version: str | None,
) -> None:
    """Turn ``versioned: true`` into ``version=Version(load_version, save_version)``."""
    flag = config.pop("versioned", False)
    if not isinstance(flag, bool):
        raise ConfigError(f"Catalog entry {label}: 'versioned' must be true or false, not "
                          f"{flag!r}.")
    if not flag:
        return
    if "version" not in inspect.signature(cls).parameters:
        raise ConfigError(
            f"Catalog entry {label}: {cls.__name__} does not support versioning; remove "
            "'versioned: true'."
        )
    if "version" in config:
        raise ConfigError(f"Catalog entry {label}: give either 'versioned' or 'version', "
                          "not both.")
    from pipeloop.datasets.file import Version

    config["version"] = Version(load_version, save_version)


def is_versioned(config: Mapping[str, Any]) -> bool:
    """Whether an entry asks for versioning (``versioned: true``)."""
    return config.get("versioned") is True


def check_entry(label: str, config: Mapping[str, Any]) -> None:
    """Check what can be checked of an entry before it is used: its ``type`` and the names
    of its arguments (a factory entry's values may still hold placeholders).

    Raises:
        ConfigError: as :func:`create_dataset`.
    """
    type_name = config.get("type")
    if isinstance(type_name, str) and "{" in type_name:
        return  # the type itself comes from the dataset's name
    cls = resolve_type(type_name, label=label)
    arguments = {key: value for key, value in config.items() if key != "type"}
    _versioned(cls, arguments, label, None, None)
    _check_arguments(cls, arguments, label)


def create_dataset(
    label: str,
    config: Mapping[str, Any],
    *,
    load_version: str | None = None,
    save_version: str | None = None,
    secrets: Iterable[str] = (),
) -> AbstractDataset:
    """Make the dataset a catalog entry describes.

    Args:
        label: the entry, quoted, for error messages (``"'cars'"``).
        config: the entry, with ``type`` and credentials already resolved.
        load_version: the version to load when the entry is versioned.
        save_version: the version to save when the entry is versioned.
        secrets: strings to mask in error messages.

    Raises:
        ConfigError: an unknown type or argument, a missing argument, versioning asked of a
            dataset without it, or any error the dataset's constructor raises.
    """
    arguments = dict(config)
    cls = resolve_type(arguments.pop("type", None), label=label)
    _versioned(cls, arguments, label, load_version, save_version)
    _check_arguments(cls, arguments, label)
    try:
        if not is_kedro_dataset_class(cls):
            return cls(**arguments)
        if "version" in arguments:
            arguments["version"] = kedro_version(arguments["version"])
        return KedroDataset(cls(**arguments))
    except Exception as exc:
        secrets = tuple(secrets)
        detail = mask_secrets(f"{type(exc).__name__}: {exc}", secrets)
        error = ConfigError(f"Catalog entry {label}: cannot create {cls.__name__}: {detail}")
        # Chaining would print the unmasked message in the traceback.
        if mask_secrets(str(exc), secrets) != str(exc):
            raise error from None
        raise error from exc


class EntryBuilder:
    """:func:`create_dataset` with one catalog's versions and secrets, for the catalog's
    entries and its dataset factories (a class rather than a closure, so it pickles).

    Args:
        load_versions: dataset name -> version to load.
        save_version: the version every versioned dataset saves.
        secrets: strings to mask in error messages.
    """

    def __init__(
        self,
        *,
        load_versions: Mapping[str, str],
        save_version: str | None,
        secrets: Iterable[str],
    ) -> None:
        self.load_versions = dict(load_versions)
        self.save_version = save_version
        self.secrets = frozenset(secrets)

    def __call__(self, name: str, label: str, config: Mapping[str, Any]) -> AbstractDataset:
        """The dataset ``name`` as ``config`` describes it; ``label`` is for messages."""
        return create_dataset(
            label,
            config,
            load_version=self.load_versions.get(name),
            save_version=self.save_version,
            secrets=self.secrets,
        )
