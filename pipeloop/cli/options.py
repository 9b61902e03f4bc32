"""Parsing the values of ``pipeloop run`` options: name lists, ``k=v`` pairs, versions.

Lists are split on commas, except inside brackets: default node names look like
``split([data,params:ratio]) -> [train,test]`` and must survive ``--nodes`` intact. Values of
``--params`` and ``--runner-params`` are typed the way a YAML user expects: ``3`` is an int,
``0.5`` a float, ``true`` a bool, ``null`` None, ``[1, 2]`` a list, and anything else (or
anything quoted) a string.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import yaml

from pipeloop.cli.errors import UsageProblem

__all__ = [
    "parse_load_versions",
    "parse_pairs",
    "parse_value",
    "split_list",
]

_OPENING = {"[": "]", "(": ")", "{": "}"}
_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_BOOLS = {"true": True, "false": False}
_NULLS = frozenset({"null", "none", "~"})


def _split_top_level(text: str) -> list[str]:
    """``text`` split on commas that are not inside brackets; items stripped, empty ones
    dropped."""
    items: list[str] = []
    closing: list[str] = []
    current: list[str] = []
    for char in text:
        if char in _OPENING:
            closing.append(_OPENING[char])
        elif closing and char == closing[-1]:
            closing.pop()
        elif char == "," and not closing:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def split_list(values: str | Iterable[str] | None) -> list[str]:
    """The names in one or more comma-separated option values, in order, without
    duplicates.

    Example:
        >>> split_list(["a,f([x,y]) -> [z]", "b"])
        ['a', 'f([x,y]) -> [z]', 'b']
    """
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    names = [name for value in values for name in _split_top_level(value)]
    return list(dict.fromkeys(names))


def parse_value(text: str) -> Any:
    """``text`` as an int, float, bool, None, list or dict when it reads as one, else as
    the string itself (without surrounding quotes).

    Raises:
        UsageProblem: a value starting with ``[`` or ``{`` that is not valid YAML.
    """
    text = text.strip()
    lowered = text.lower()
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    if lowered in _BOOLS:
        return _BOOLS[lowered]
    if lowered in _NULLS:
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text[:1] in ("[", "{"):
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            problem = str(exc).splitlines()[0]
            raise UsageProblem(f"Cannot read {text!r} as a list or mapping: {problem}.") from exc
    return text


def parse_pairs(values: str | Iterable[str] | None, option: str, example: str) -> dict[str, Any]:
    """``k=v,a.b=v`` pairs as a dict of typed values (see :func:`parse_value`).

    Args:
        values: one or more option values.
        option: the option's name, for error messages.
        example: a valid value, shown when the syntax is wrong.

    Raises:
        UsageProblem: an item without ``=`` or with an empty key.
    """
    pairs: dict[str, Any] = {}
    for item in split_list(values):
        key, equals, value = item.partition("=")
        key = key.strip()
        if not equals or not key:
            raise UsageProblem(
                f"Invalid value for '{option}': {item!r} is not a key=value pair.",
                hint=f"Separate pairs with commas, e.g. {option} {example}",
            )
        try:
            pairs[key] = parse_value(value)
        except UsageProblem as exc:
            raise UsageProblem(f"Invalid value for '{option}' {key!r}: {exc.message}") from exc
    return pairs


def parse_load_versions(values: str | Iterable[str] | None) -> dict[str, str]:
    """``dataset:version,...`` as a dict; the version is what follows the last colon.

    Raises:
        UsageProblem: an item without a colon, or with an empty name or version.
    """
    versions: dict[str, str] = {}
    for item in split_list(values):
        name, colon, version = item.rpartition(":")
        name, version = name.strip(), version.strip()
        if not colon or not name or not version:
            raise UsageProblem(
                f"Invalid value for '--load-versions': {item!r} is not dataset:version.",
                hint="Separate items with commas, e.g. --load-versions "
                "model:2024-05-01T09.30.12.345Z,features:2024-05-02T10.00.00.000Z",
            )
        versions[name] = version
    return versions
