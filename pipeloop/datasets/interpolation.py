"""``${...}`` in configuration, resolved by OmegaConf as in a Kedro project.

One environment's configuration of one kind (all its files merged) is resolved at once, so
``${key}`` reaches any key of any file of that kind in that environment (Kedro resolves the
same way). Resolvers:

- ``${globals:key, default}``: the merged ``globals*`` files;
- ``${runtime_params:key, default}``: the run's ``--params``;
- OmegaConf's built-ins (``oc.select``, ``oc.dict.keys``, ...), except ``oc.env``, which
  reads environment variables in credentials only (Kedro's rule: the environment is for
  secrets, not for the rest of the configuration);
- the project's own (``ConfigLoader(custom_resolvers=...)``).

OmegaConf keeps resolvers in one process-wide table; a loader registers its own only while
it resolves, under a lock, and puts the table back afterwards, so two loaders (or a user's
own OmegaConf code) never see each other's resolvers.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.basecontainer import BaseContainer
from omegaconf.errors import OmegaConfBaseException
from omegaconf.resolvers import oc

from pipeloop.errors import ConfigError

__all__ = ["NO_DEFAULT", "has_interpolation", "resolve", "runtime_param_references"]

_LOCK = threading.RLock()  # a globals lookup resolves the globals inside a resolution
_ENV_RESOLVER = "oc.env"
NO_DEFAULT: Any = object()
_RUNTIME_REFERENCE = re.compile(r"\$\{\s*runtime_params\s*:\s*([^,}\s]+)")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if isinstance(key, str):
                yield key
            yield from _strings(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _strings(inner)


def has_interpolation(value: Any) -> bool:
    """Whether any string inside ``value`` holds ``${``."""
    return any("${" in text for text in _strings(value))


def runtime_param_references(value: Any) -> set[str]:
    """The keys ``value`` reads with ``${runtime_params:key}``."""
    return {match for text in _strings(value) for match in _RUNTIME_REFERENCE.findall(text)}


def _register(name: str, function: Callable[..., Any]) -> None:
    OmegaConf.register_resolver(name, function, replace=True, annotation_validation="off")


@contextmanager
def _resolvers(resolvers: Mapping[str, Callable[..., Any]], *, env_vars: bool) -> Iterator[None]:
    with _LOCK:
        saved = dict(BaseContainer._resolvers)
        try:
            if not env_vars and _ENV_RESOLVER not in resolvers:
                OmegaConf.clear_resolver(_ENV_RESOLVER)
            elif env_vars and _ENV_RESOLVER not in resolvers:
                _register(_ENV_RESOLVER, oc.env)
            for name, function in resolvers.items():
                _register(name, function)
            yield
        finally:
            BaseContainer._resolvers = saved


def _raw_value(config: Mapping[Any, Any], full_key: str) -> Any:
    value: Any = config
    for part in re.findall(r"[^.\[\]]+", full_key):
        if isinstance(value, Mapping):
            value = value.get(part, value.get(int(part)) if part.isdigit() else None)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def resolve(
    config: dict[Any, Any],
    *,
    origin: Mapping[Any, Path],
    lines: Mapping[Any, int],
    resolvers: Mapping[str, Callable[..., Any]],
    env_vars: bool = False,
    mask: Callable[[str], str] = lambda text: text,
) -> dict[Any, Any]:
    """``config`` with every ``${...}`` resolved.

    Args:
        config: one environment's configuration of one kind, every file merged.
        origin: top-level key -> the file that defines it (for messages).
        lines: top-level key -> its line in that file.
        resolvers: resolver name -> function, registered while resolving.
        env_vars: whether ``${oc.env:VAR}`` may read environment variables.
        mask: hides secrets in a message (for credentials).

    Raises:
        ConfigError: an interpolation that cannot be resolved; the message names the file,
            the line of the top-level entry, the key and the expression.
    """
    if not has_interpolation(config):
        return config
    with _resolvers(resolvers, env_vars=env_vars):
        try:
            container = OmegaConf.create(config, flags={"allow_objects": True})
        except OmegaConfBaseException as exc:
            raise ConfigError(mask(f"Cannot read the configuration: {exc.msg}")) from None
        resolved: dict[Any, Any] = {}
        for key in config:
            try:
                value = container[key]
                if OmegaConf.is_config(value):
                    value = OmegaConf.to_container(value, resolve=True)
                resolved[key] = value
            except OmegaConfBaseException as exc:
                raise _unresolvable(config, key, exc, origin, lines, mask) from None
    return resolved


def _unresolvable(
    config: Mapping[Any, Any],
    key: Any,
    exc: OmegaConfBaseException,
    origin: Mapping[Any, Path],
    lines: Mapping[Any, int],
    mask: Callable[[str], str],
) -> ConfigError:
    full_key = getattr(exc, "full_key", None) or str(key)
    where = f"'{origin[key]}'" if key in origin else "the configuration"
    if key in lines:
        where += f", line {lines[key]} (entry '{key}')"
    expression = _raw_value(config, full_key)
    shown = f" {expression!r}" if isinstance(expression, str) and "${" in expression else ""
    detail = (getattr(exc, "msg", None) or type(exc).__name__).split("\n")[0]
    return ConfigError(mask(
        f"Cannot resolve{shown} in {where}, key '{full_key}': {detail}."
    ))
