"""Configuration folders, as in a Kedro project: ``conf/base`` overlaid by ``conf/<env>``.

Each environment folder holds YAML files, found by name at any depth (Kedro's patterns)::

    conf/
      base/
        catalog.yml             catalog*, catalog*/**, **/catalog*
        catalog/raw.yml
        parameters.yml          parameters*, parameters*/**, **/parameters*
        pipelines/model/parameters_model.yml
      local/
        credentials.yml         credentials*, credentials*/**, **/credentials*

Within one environment a top-level key may be defined once; the same key in two files is an
error naming both. The run environment overlays ``base`` key by key for the catalog and the
credentials, and deep-merges the parameters (the environment wins). Top-level keys starting
with ``_`` are dropped (YAML anchors). Files are read with ``yaml.safe_load`` only.
"""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.errors import ConfigError

__all__ = ["ConfigLoader", "catalog_from_conf"]

_KINDS = ("catalog", "parameters", "credentials")
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


def _read_yaml(path: Path) -> dict[str, Any]:
    """The mapping in one YAML file (``{}`` for an empty file).

    Raises:
        ConfigError: the file cannot be read, is not valid YAML (with the line), or does
            not hold a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the configuration file '{path}': {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_error_message(path, exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"The configuration file '{path}' must hold a mapping of keys to values, not "
            f"{type(data).__name__}."
        )
    return data


def _yaml_error_message(path: Path, exc: yaml.YAMLError) -> str:
    # Built from the parts, never str(exc): that quotes the file's text, which may be secret.
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return f"Invalid YAML in '{path}'{where}: {detail}."


def _load_env(folder: Path, kind: str) -> dict[str, Any]:
    """The ``kind`` configuration of one environment folder, every file merged.

    Raises:
        ConfigError: a file is invalid, or two files define the same top-level key.
    """
    merged: dict[str, Any] = {}
    origin: dict[str, Path] = {}
    for path in _config_files(folder, kind):
        for key, value in _read_yaml(path).items():
            if isinstance(key, str) and key.startswith("_"):
                continue
            if key in origin:
                raise ConfigError(
                    f"Duplicate {kind} key '{key}' in '{origin[key]}' and '{path}'; a key "
                    f"may be defined in only one file of an environment."
                )
            merged[key], origin[key] = value, path
    return merged


def _deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in: nested mappings merge, other values replace."""
    merged = dict(base)
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _nested(params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """One nested mapping per runtime parameter: ``{"model.lr": 0.1}`` ->
    ``{"model": {"lr": 0.1}}``."""
    for key, value in params.items():
        if not isinstance(key, str) or not all(key.split(".")):
            raise ConfigError(
                f"Invalid runtime parameter name {key!r}: use a key such as 'lr', or a "
                "dotted path such as 'model.lr'."
            )
        nested: Any = value
        for part in reversed(key.split(".")):
            nested = {part: nested}
        yield nested


class ConfigLoader:
    """Reads a project's configuration folders: ``base`` overlaid by the run environment.

    Args:
        conf_source: the configuration folder (``conf``).
        env: the run environment; ``None`` means ``default_run_env``.
        base_env: the folder every run reads first.
        default_run_env: the environment used when ``env`` is ``None``; it may be missing
            (``conf/local`` usually is in a fresh checkout).
        runtime_params: parameters merged over the configured ones (``--params``); dotted
            keys (``"model.lr"``) set nested values.

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
    ) -> None:
        self.conf_source = Path(conf_source)
        self.env = env if env is not None else default_run_env
        self.base_env = base_env
        self.default_run_env = default_run_env
        self.runtime_params = dict(runtime_params or {})
        self._cache: dict[str, dict[str, Any]] = {}
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

    def _load(self, kind: str) -> dict[str, Any]:
        if kind not in self._cache:
            merged = _load_env(self.conf_source / self.base_env, kind)
            env_folder = self.conf_source / self.env
            if self.env != self.base_env and env_folder.is_dir():
                overlay = _load_env(env_folder, kind)
                if kind == "parameters":
                    merged = _deep_merge(merged, overlay)
                else:
                    merged.update(overlay)
            if kind == "parameters":
                for nested in _nested(self.runtime_params):
                    merged = _deep_merge(merged, nested)
            self._cache[kind] = merged
        return copy.deepcopy(self._cache[kind])

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
        if key not in _KINDS:
            raise KeyError(f"No configuration '{key}'; use one of {', '.join(_KINDS)}.")
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
