"""Dataset factories: catalog entries whose name is a pattern such as ``"{name}_csv"``.

A factory entry describes many datasets at once. When the catalog is asked for a name it
does not list, it tries its patterns in order and builds the dataset from the first that
matches, with the placeholders' values filled into every string of the entry::

    "{name}_csv":
      type: pandas.CSVDataset
      filepath: data/{name}.csv       # "cars_csv" -> data/cars.csv

The syntax is the ``parse`` library's, as in Kedro: ``{placeholder}`` matches one or more
characters (as few as possible, so in ``"{namespace}.{name}"`` the namespace stops at the
first dot), a placeholder used twice must match the same text both times, and ``{{``/``}}``
are literal braces. Unlike ``parse``, matching is case-sensitive, like dataset names.

Patterns are tried most specific first, as Kedro does: more literal (non-placeholder)
characters first, then more placeholders, then alphabetically. A pattern made only of
placeholders (``"{default}"``) is the catch-all; it comes last and at most one is allowed.
Names of parameters (``parameters``, ``params:...``) never match a pattern: a parameter the
configuration lacks stays a clear error instead of becoming an empty dataset.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pipeloop.datasets.base import AbstractDataset
from pipeloop.errors import ConfigError

__all__ = ["DatasetFactories", "DatasetPattern", "is_pattern"]

# ``{{`` and ``}}`` are literal braces, ``{word}`` a placeholder, and any other brace an error.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_CREDENTIALS = "credentials"

DatasetBuilder = Callable[[str, str, Mapping[str, Any]], AbstractDataset]
"""``builder(dataset_name, label, config)``: makes the dataset from the filled-in entry."""


def is_pattern(name: str) -> bool:
    """Whether a catalog entry's name is a factory pattern (it holds a ``{``)."""
    return "{" in name


def _is_parameter(name: str) -> bool:
    return name == "parameters" or name.startswith("params:")


def _tokens(text: str, *, where: str) -> Iterator[tuple[str, str | None]]:
    """Split ``text`` into ``(literal, None)`` and ``(raw, placeholder)`` pieces.

    Raises:
        ConfigError: an unbalanced brace, or a placeholder that is not an identifier.
    """
    position = 0
    for found in _TOKEN.finditer(text):
        if found.start() > position:
            yield text[position : found.start()], None
        token = found.group(0)
        if token in ("{{", "}}"):
            yield token[0], None
        elif found.group(1) is not None and _IDENTIFIER.fullmatch(found.group(1)):
            yield token, found.group(1)
        else:
            raise ConfigError(
                f"{where}: {token!r} in {text!r} is not a placeholder; write a name in "
                "braces such as '{name}', or '{{' and '}}' for literal braces."
            )
        position = found.end()
    if position < len(text):
        yield text[position:], None


class DatasetPattern:
    """One factory entry: its pattern, the regular expression built from it, and its
    configuration.

    Args:
        pattern: the entry's name, such as ``"{namespace}.{name}_csv"``.
        config: the entry (credentials already resolved); its strings may use the
            pattern's placeholders.

    Raises:
        ConfigError: the pattern is malformed, or the entry uses a placeholder the pattern
            does not define.
    """

    def __init__(self, pattern: str, config: Mapping[str, Any]) -> None:
        where = f"Dataset factory '{pattern}'"
        regex, placeholders, literal, used = "", [], 0, 0
        for text, placeholder in _tokens(pattern, where=where):
            used += placeholder is not None
            if placeholder is None:
                regex += re.escape(text)
                literal += len(text)
            elif placeholder in placeholders:
                regex += f"(?P={placeholder})"
            else:
                regex += f"(?P<{placeholder}>.+?)"
                placeholders.append(placeholder)
        self.pattern = pattern
        self.placeholders: tuple[str, ...] = tuple(placeholders)
        self.specificity = literal
        self._placeholder_count = used
        self.config = dict(config)
        self._regex = re.compile(regex, flags=re.DOTALL)
        for value in _strings(self.config):
            for _, name in _tokens(value, where=where):
                if name is not None and name not in self.placeholders:
                    raise ConfigError(
                        f"{where} uses the placeholder '{{{name}}}' in {value!r}, but the "
                        f"pattern defines only {_listed(self.placeholders)}."
                    )

    @property
    def is_catch_all(self) -> bool:
        """Whether the pattern has no literal characters, so it matches any name."""
        return self.specificity == 0

    def sort_key(self) -> tuple[int, int, str]:
        """Kedro's order: more literal characters, then more placeholders, then by name."""
        return (-self.specificity, -self._placeholder_count, self.pattern)

    def match(self, name: str) -> dict[str, str] | None:
        """The placeholders' values if ``name`` matches the pattern, else ``None``."""
        found = self._regex.fullmatch(name)
        return None if found is None else found.groupdict()

    def fill(self, values: Mapping[str, str]) -> dict[str, Any]:
        """A copy of the entry with every placeholder in every string replaced by its value
        (keys stay as they are)."""
        return _filled(self.config, values)

    def __repr__(self) -> str:
        return f"DatasetPattern({self.pattern!r})"


def _strings(value: Any) -> Iterator[str]:
    """Every string value inside ``value`` (nested dicts and lists included), except the
    credentials: secrets are never parsed, filled in or quoted."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if key != _CREDENTIALS:
                yield from _strings(inner)
    elif isinstance(value, list | tuple):
        for inner in value:
            yield from _strings(inner)


def _filled(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return "".join(
            text if placeholder is None else values[placeholder]
            for text, placeholder in _tokens(value, where="Dataset factory")
        )
    if isinstance(value, Mapping):
        return {
            key: inner if key == _CREDENTIALS else _filled(inner, values)
            for key, inner in value.items()
        }
    if isinstance(value, list | tuple):
        return type(value)(_filled(inner, values) for inner in value)
    return value


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(f"'{{{name}}}'" for name in names) or "no placeholders"


class DatasetFactories:
    """The catalog's factory entries, in resolution order.

    Args:
        patterns: pattern -> entry (credentials already resolved).
        builder: makes a dataset from a filled-in entry; called as
            ``builder(dataset_name, label, config)`` where ``label`` names the dataset and
            its pattern for error messages.

    Raises:
        ConfigError: a malformed pattern or entry, or more than one catch-all pattern.
    """

    def __init__(self, patterns: Mapping[str, Mapping[str, Any]], builder: DatasetBuilder) -> None:
        ordered = sorted(
            (DatasetPattern(name, config) for name, config in patterns.items()),
            key=DatasetPattern.sort_key,
        )
        catch_all = [pattern.pattern for pattern in ordered if pattern.is_catch_all]
        if len(catch_all) > 1:
            raise ConfigError(
                f"Multiple catch-all dataset factories: {', '.join(catch_all)}. Only one "
                "pattern made only of placeholders is allowed; remove the others."
            )
        self._patterns = ordered
        self._builder = builder

    def __len__(self) -> int:
        return len(self._patterns)

    def __iter__(self) -> Iterator[DatasetPattern]:
        return iter(self._patterns)

    def list(self) -> list[str]:
        """The patterns, in the order they are tried."""
        return [pattern.pattern for pattern in self._patterns]

    def match(self, name: str) -> tuple[DatasetPattern, dict[str, str]] | None:
        """The first pattern ``name`` matches, with the placeholders' values; ``None`` if
        none matches or ``name`` is a parameter."""
        if _is_parameter(name):
            return None
        for pattern in self._patterns:
            values = pattern.match(name)
            if values is not None:
                return pattern, values
        return None

    def create(self, name: str) -> AbstractDataset | None:
        """A new dataset for ``name`` from the first pattern it matches, or ``None``.

        Raises:
            ConfigError: the matching entry does not make a valid dataset.
        """
        matched = self.match(name)
        if matched is None:
            return None
        pattern, values = matched
        label = f"'{name}' (from the dataset factory '{pattern.pattern}')"
        return self._builder(name, label, pattern.fill(values))
