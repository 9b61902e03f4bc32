"""Runtime parameters (``--params``): dotted keys, lookups, and the check that each one
overrides something.

A runtime parameter must name a configured parameter (``model.lr`` where
``parameters.yml`` has ``model: {lr: ...}``) or a key the configuration reads with
``${runtime_params:key}``; anything else is almost always a typo, which a run would
otherwise accept and ignore.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pipeloop.errors import ConfigError, UnknownParameterError

__all__ = ["MISSING", "check_runtime_params", "nest", "select"]

MISSING: Any = object()


def _parts(key: Any) -> list[str]:
    if not isinstance(key, str) or not all(key.split(".")):
        raise ConfigError(
            f"Invalid runtime parameter name {key!r}: use a key such as 'lr', or a "
            "dotted path such as 'model.lr'."
        )
    return key.split(".")


def nest(params: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """One nested mapping per runtime parameter: ``{"model.lr": 0.1}`` ->
    ``{"model": {"lr": 0.1}}``.

    Raises:
        ConfigError: a key that is not a dotted path of names.
    """
    for key, value in params.items():
        nested: Any = value
        for part in reversed(_parts(key)):
            nested = {part: nested}
        yield nested


def select(config: Any, key: str) -> Any:
    """The value at dotted ``key`` in nested mappings, or :data:`MISSING`."""
    value = config
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def _leaf_paths(key_parts: list[str], value: Any) -> Iterator[list[str]]:
    if isinstance(value, Mapping) and value:
        for inner_key, inner in value.items():
            yield from _leaf_paths([*key_parts, str(inner_key)], inner)
    else:
        yield key_parts


def _all_keys(config: Mapping[Any, Any], prefix: str = "") -> Iterator[str]:
    for key, value in config.items():
        dotted = f"{prefix}{key}"
        yield dotted
        if isinstance(value, Mapping):
            yield from _all_keys(value, dotted + ".")


def _overrides(parameters: Any, parts: list[str]) -> bool:
    value = parameters
    for part in parts:
        if isinstance(value, str) and "${" in value:
            return True  # an interpolated value: its keys are not known before resolving
        if not isinstance(value, Mapping) or part not in value:
            return False
        value = value[part]
    return True


def check_runtime_params(
    runtime_params: Mapping[str, Any], parameters: Mapping[Any, Any],
    references: Iterable[str],
) -> None:
    """Raise unless every runtime parameter overrides a configured one or is read by a
    ``${runtime_params:...}`` interpolation.

    Args:
        runtime_params: the run's ``--params``, dotted keys allowed.
        parameters: the configured parameters (base and environment merged, unresolved).
        references: the keys read with ``${runtime_params:key}`` anywhere.

    Raises:
        UnknownParameterError: a runtime parameter that matches nothing; the message
            suggests close matches.
    """
    referenced = [key.split(".") for key in references]
    for key, value in runtime_params.items():
        for parts in _leaf_paths(_parts(key), value):
            if _overrides(parameters, parts) or any(
                parts[: len(ref)] == ref or ref[: len(parts)] == parts for ref in referenced
            ):
                continue
            dotted = ".".join(parts)
            candidates = sorted({*_all_keys(parameters), *references})
            matches = difflib.get_close_matches(dotted, candidates, n=3, cutoff=0.6)
            hint = (f" Did you mean {' or '.join(repr(m) for m in matches)}?"
                    if matches else "")
            raise UnknownParameterError(
                f"Runtime parameter '{dotted}' (--params) matches no parameter in the "
                f"configuration and no ${{runtime_params:...}} interpolation.{hint}"
            )
