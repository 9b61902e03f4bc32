"""Configuration folders, as in a Kedro project: ``conf/base`` overlaid by ``conf/<env>``.

Each environment folder holds YAML files, found by name at any depth (Kedro's patterns)::

    conf/
      base/
        catalog.yml             catalog*, catalog*/**, **/catalog*
        catalog/raw.yml
        parameters.yml          parameters*, parameters*/**, **/parameters*
        pipelines/model/parameters_model.yml
        globals.yml             globals*, globals*/**, **/globals*
      local/
        credentials.yml         credentials*, credentials*/**, **/credentials*

Within one environment a top-level key may be defined once; the same key in two files is an
error naming both. Each environment's files of one kind are resolved together with OmegaConf
(``${...}``, see :mod:`pipeloop.datasets.interpolation`), as Kedro's ``OmegaConfigLoader``
does; then the run environment overlays ``base`` key by key for the catalog, credentials and
globals, and deep-merges the parameters (the environment wins). Top-level keys starting with
``_`` are templates: they may be interpolated, may appear in several files, and are left out
of the result. Files are read as safe YAML, hardened (:mod:`pipeloop.datasets.yaml_loader`).
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.datasets.interpolation import resolve, runtime_param_references
from pipeloop.datasets.runtime_params import MISSING, check_runtime_params, nest, select
from pipeloop.datasets.types import mask_secrets, secret_strings
from pipeloop.datasets.yaml_loader import read_yaml
from pipeloop.errors import ConfigError

__all__ = ["ConfigLoader", "catalog_from_conf"]

_KINDS = ("catalog", "parameters", "credentials")
_GLOBALS = "globals"
_EXTENSIONS = (".yml", ".yaml")


def _glob_to_regex(glob: str) -> re.Pattern[str]:
    """A regex for a relative POSIX path: ``**`` crosses folders, ``*`` does not."""
    regex = ""
    for part in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
        regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
            part, re.escape(part)
        )
    return re.compile(regex, flags=re.DOTALL)


@cache
def _patterns(kind: str) -> tuple[re.Pattern[str], ...]:
    globs = (f"{kind}*", f"{kind}*/**", f"**/{kind}*")
    return tuple(_glob_to_regex(glob) for glob in globs)


def _config_files(folder: Path, kind: str) -> list[Path]:
    """The YAML files of ``kind`` under ``folder``, sorted; hidden files and folders skipped."""
    found = []
    for root, folders, files in os.walk(folder):
        folders[:] = [name for name in folders if not name.startswith(".")]
        for name in files:
            path = Path(root, name)
            relative = path.relative_to(folder).as_posix()
            if (
                not name.startswith(".")
                and path.suffix in _EXTENSIONS
                and any(regex.fullmatch(relative) for regex in _patterns(kind))
            ):
                found.append(path)
    return sorted(found, key=lambda path: path.relative_to(folder).as_posix())


def _load_env(folder: Path, kind: str) -> tuple[dict[Any, Any], dict[Any, Path], dict[Any, int]]:
    """The ``kind`` configuration of one environment folder, every file merged, templates
    (``_`` keys) included; with the file and line of each top-level key.

    Raises:
        ConfigError: a file is invalid, or two files define the same top-level key.
    """
    merged: dict[Any, Any] = {}
    origin: dict[Any, Path] = {}
    lines: dict[Any, int] = {}
    for path in _config_files(folder, kind):
        data, file_lines = read_yaml(path)
        for key, value in data.items():
            if key in origin and not _is_template(key):
                raise ConfigError(
                    f"Duplicate {kind} key '{key}' in '{origin[key]}' and '{path}'; a key "
                    f"may be defined in only one file of an environment."
                )
            merged[key], origin[key] = value, path
            if key in file_lines:
                lines[key] = file_lines[key]
    return merged, origin, lines


def _is_template(key: Any) -> bool:
    return isinstance(key, str) and key.startswith("_")


def _without_templates(config: Mapping[Any, Any]) -> dict[Any, Any]:
    return {key: value for key, value in config.items() if not _is_template(key)}


def _deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in: nested mappings merge, other values replace."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


class _Globals:
    """The ``globals`` resolver: ``${globals:key}`` or ``${globals:key, default}``."""

    def __init__(self, values: Callable[[], Mapping[Any, Any]]) -> None:
        self._values = values

    def __call__(self, key: str, default: Any = MISSING) -> Any:
        if key.startswith("_"):
            raise ConfigError(f"globals key '{key}': keys starting with '_' are templates, "
                              "not globals")
        value = select(self._values(), key)
        if value is MISSING:
            if default is MISSING:
                raise ConfigError(f"globals key '{key}' is not in the globals files and no "
                                  "default is given")
            return default
        return value


class _RuntimeParams:
    """The ``runtime_params`` resolver: ``${runtime_params:key, default}``."""

    def __init__(self, values: Mapping[str, Any] | None) -> None:
        self._values = values

    def __call__(self, key: str, default: Any = MISSING) -> Any:
        if self._values is None:
            raise ConfigError("the runtime_params resolver cannot be used in globals")
        value = select(self._values, key)
        if value is MISSING:
            if default is MISSING:
                raise ConfigError(f"runtime parameter '{key}' was not given (--params) and "
                                  "no default is given")
            return default
        return value


class ConfigLoader:
    """Reads a project's configuration folders: ``base`` overlaid by the run environment.

    Values may hold OmegaConf interpolations, as in Kedro: ``${key}`` for any key of the same
    kind in the same environment, ``${globals:key}`` for the ``globals*`` files,
    ``${runtime_params:key, default}`` for ``runtime_params``, ``${oc.env:VAR}`` in
    credentials only, and any resolver given in ``custom_resolvers``. Top-level keys
    starting with ``_`` are templates: they may be interpolated and are then left out.

    Args:
        conf_source: the configuration folder (``conf``).
        env: the run environment; ``None`` means ``default_run_env``.
        base_env: the folder every run reads first.
        default_run_env: the environment used when ``env`` is ``None``; it may be missing
            (``conf/local`` usually is in a fresh checkout).
        runtime_params: parameters merged over the configured ones (``--params``); dotted
            keys (``"model.lr"``) set nested values. Each must name a configured parameter
            or a key read with ``${runtime_params:key}``.
        custom_resolvers: resolver name -> function, as Kedro's ``CONFIG_LOADER_ARGS``
            ``custom_resolvers`` (``{"add": lambda *xs: sum(xs)}`` for ``${add:1,2}``).

    Raises:
        ConfigError: ``conf_source`` or its base folder does not exist, or ``env`` names a
            folder that does not exist (other than ``default_run_env``).

    Example:
        >>> loader = ConfigLoader("conf", env="prod")     # doctest: +SKIP
        >>> loader["parameters"]["model"]["lr"]          # doctest: +SKIP
        0.01
    """

    def __init__(
        self,
        conf_source: str | os.PathLike[str],
        env: str | None = None,
        *,
        base_env: str = "base",
        default_run_env: str = "local",
        runtime_params: Mapping[str, Any] | None = None,
        custom_resolvers: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        self.conf_source = Path(conf_source)
        self.env = env if env is not None else default_run_env
        self.base_env = base_env
        self.default_run_env = default_run_env
        self.runtime_params = dict(runtime_params or {})
        self.custom_resolvers = dict(custom_resolvers or {})
        for name, function in self.custom_resolvers.items():
            if not isinstance(name, str) or not name or not callable(function):
                raise ConfigError(f"Invalid custom resolver {name!r}: give a name and a "
                                  "function.")
        self._cache: dict[str, dict[str, Any]] = {}
        self._raw: dict[tuple[str, str], tuple[dict[Any, Any], dict[Any, Path],
                                              dict[Any, int]]] = {}
        self._check_folders()

    def _check_folders(self) -> None:
        if not self.conf_source.is_dir():
            raise ConfigError(
                f"Configuration folder '{self.conf_source}' not found; create it, or point "
                "conf_source at the project's configuration."
            )
        base = self.conf_source / self.base_env
        if not base.is_dir():
            raise ConfigError(f"Base configuration folder '{base}' not found; create it.")
        env_folder = self.conf_source / self.env
        if not env_folder.is_dir() and self.env != self.default_run_env:
            raise ConfigError(
                f"Configuration folder '{env_folder}' for environment '{self.env}' not "
                "found; create it, or choose an existing environment."
            )

    def _envs(self) -> list[str]:
        envs = [self.base_env]
        if self.env != self.base_env and (self.conf_source / self.env).is_dir():
            envs.append(self.env)
        return envs

    def _read(self, env: str, kind: str) -> tuple[dict[Any, Any], dict[Any, Path],
                                                  dict[Any, int]]:
        if (env, kind) not in self._raw:
            self._raw[env, kind] = _load_env(self.conf_source / env, kind)
        return self._raw[env, kind]

    def _nested_runtime_params(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for nested in nest(self.runtime_params):
            merged = _deep_merge(merged, nested)
        return merged

    def _resolved(self, env: str, kind: str) -> dict[Any, Any]:
        """One environment's ``kind``, interpolations resolved, templates left out."""
        raw, origin, lines = self._read(env, kind)
        runtime = self._nested_runtime_params()
        if kind == "parameters":
            raw = _deep_merge(raw, runtime)  # ${model.lr} sees --params model.lr (Kedro)
        resolvers: dict[str, Callable[..., Any]] = {
            "runtime_params": _RuntimeParams(None if kind == _GLOBALS else runtime),
        }
        if kind != _GLOBALS:
            resolvers["globals"] = _Globals(lambda: self._load(_GLOBALS))
        resolvers.update(self.custom_resolvers)
        secrets = secret_strings(raw) if kind == "credentials" else set()
        resolved = resolve(
            raw, origin=origin, lines=lines, resolvers=resolvers,
            env_vars=kind == "credentials", mask=lambda text: mask_secrets(text, secrets),
        )
        return _without_templates(resolved)

    def _load(self, kind: str) -> dict[str, Any]:
        if kind not in self._cache:
            merged: dict[Any, Any] = {}
            for env in self._envs():
                overlay = self._resolved(env, kind)
                if kind == "parameters":
                    merged = _deep_merge(merged, overlay)
                else:
                    merged.update(overlay)
            if kind == "parameters" and self.runtime_params:
                self._check_runtime_params()
                merged = _deep_merge(merged, self._nested_runtime_params())
            self._cache[kind] = merged
        return copy.deepcopy(self._cache[kind])

    def _check_runtime_params(self) -> None:
        configured: dict[Any, Any] = {}
        references: set[str] = set()
        for env in self._envs():
            configured = _deep_merge(configured,
                                     _without_templates(self._read(env, "parameters")[0]))
            for kind in _KINDS:
                references |= runtime_param_references(self._read(env, kind)[0])
        check_runtime_params(self.runtime_params, configured, references)

    @property
    def globals(self) -> dict[str, Any]:
        """The globals: what ``${globals:key}`` reads."""
        return self._load(_GLOBALS)

    @property
    def catalog(self) -> dict[str, Any]:
        """The catalog configuration: dataset name or pattern -> entry."""
        return self._load("catalog")

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters, with ``runtime_params`` merged on top."""
        return self._load("parameters")

    @property
    def credentials(self) -> dict[str, Any]:
        """The credentials: name -> credentials."""
        return self._load("credentials")

    def __getitem__(self, key: str) -> dict[str, Any]:
        """``loader["catalog"]``, ``loader["parameters"]`` or ``loader["credentials"]``.

        Raises:
            KeyError: any other key.
        """
        if key not in (*_KINDS, _GLOBALS):
            raise KeyError(
                f"No configuration '{key}'; use one of {', '.join((*_KINDS, _GLOBALS))}."
            )
        return self._load(key)

    def __repr__(self) -> str:
        return (
            f"ConfigLoader(conf_source={str(self.conf_source)!r}, env={self.env!r}, "
            f"base_env={self.base_env!r})"
        )


def catalog_from_conf(
    loader: ConfigLoader,
    *,
    load_versions: Mapping[str, str] | None = None,
    save_version: str | None = None,
) -> DataCatalog:
    """The project's catalog: its datasets and factories, plus the parameters as
    ``parameters`` and ``params:<key>`` entries.

    Args:
        loader: the project's configuration.
        load_versions: dataset name -> version to load (``--load-versions``).
        save_version: the version every versioned dataset saves; generated when omitted.

    Raises:
        ConfigError: invalid configuration (see :meth:`DataCatalog.from_config`).
    """
    catalog = DataCatalog.from_config(
        loader.catalog,
        loader.credentials,
        load_versions=load_versions,
        save_version=save_version,
    )
    catalog.add_parameters(loader.parameters)
    return catalog
