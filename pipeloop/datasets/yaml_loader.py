"""Reading one configuration file: safe YAML, hardened against mistakes and hostile input.

On top of ``yaml.SafeLoader``:

- a key given twice in one mapping is an error naming the key and its line (plain PyYAML
  keeps the last one silently);
- aliases may not expand the document past :data:`MAX_EXPANDED_NODES` values: a 600-byte
  "billion laughs" file otherwise becomes gigabytes once anything walks it;
- a value its tag cannot construct (``!!int abc``) is an error naming the tag and the line,
  never quoting the value (it may be a secret);
- floats in exponent form without a dot (``1e-3``) are floats, as OmegaConf (and so Kedro)
  reads them, rather than strings.

Every error is a :class:`~pipeloop.errors.ConfigError` naming the file, built from the
parts of the YAML error, never from its text, which quotes the file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError

from pipeloop.errors import ConfigError

__all__ = ["MAX_EXPANDED_NODES", "read_yaml"]

#: How many values (scalars, lists, mappings) a document may hold once aliases are expanded.
MAX_EXPANDED_NODES = 200_000

_MERGE_TAG = "tag:yaml.org,2002:merge"
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?
    |[-+]?\.[0-9_]+(?:[eE][-+]?[0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _HardenedLoader(yaml.SafeLoader):
    """``SafeLoader`` with duplicate keys, alias expansion and tag failures checked."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: SafeLoader reports it
                if duplicate:
                    raise ConstructorError(
                        None, None, f"the key {_show_key(key)} is given twice",
                        key_node.start_mark,
                    )
        return super().construct_mapping(node, deep=deep)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except Exception:
            failed = True  # raised below, outside this block: the error may quote the value
        if failed:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise ConstructorError(
                None, None, f"the value tagged {tag} is not a valid {tag.lstrip('!')}",
                node.start_mark,
            )


_HardenedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float", _FLOAT, list("-+0123456789.")
)


def _show_key(key: Any) -> str:
    text = repr(key)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_expansion(root: yaml.Node) -> None:
    """Raise a ConstructorError when ``root`` holds more than MAX_EXPANDED_NODES values
    with every alias expanded, or an alias that contains itself."""
    sizes: dict[int, int] = {}
    in_progress: set[int] = set()

    def size(node: yaml.Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in in_progress:
            raise ConstructorError(None, None, "an alias refers to a value that contains it",
                                   node.start_mark)
        in_progress.add(id(node))
        total = 1
        if isinstance(node, yaml.SequenceNode):
            children: list[yaml.Node] = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        for child in children:
            total += size(child)
            if total > MAX_EXPANDED_NODES:
                raise ConstructorError(
                    None, None,
                    f"its aliases expand to more than {MAX_EXPANDED_NODES:,} values "
                    "(an alias 'bomb'?)",
                    node.start_mark,
                )
        in_progress.discard(id(node))
        sizes[id(node)] = total
        return total

    size(root)


def _error_message(path: Path, exc: yaml.YAMLError) -> str:
    # Built from the parts, never str(exc): that quotes the file's text, which may be secret.
    mark = getattr(exc, "problem_mark", None)
    where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    problem = getattr(exc, "problem", None) or type(exc).__name__
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else problem
    return f"Invalid YAML in '{path}'{where}: {detail}."


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[Any, int]]:
    """The mapping in one YAML file (``{}`` for an empty file), and the line (1-based) of
    each of its top-level keys.

    Raises:
        ConfigError: the file cannot be read, is not valid YAML, gives a key twice, expands
            past the alias limit, or does not hold a mapping; the message names the file
            and, where there is one, the line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"Cannot read the configuration file '{path}': {exc}") from None
    loader = _HardenedLoader(text)
    lines: dict[Any, int] = {}
    try:
        node = loader.get_single_node()
        if node is None:
            return {}, {}
        _check_expansion(node)
        data = loader.construct_document(node)
        if isinstance(node, yaml.MappingNode):
            for key_node, _ in node.value:
                if isinstance(key_node, yaml.ScalarNode):
                    lines.setdefault(key_node.value, key_node.start_mark.line + 1)
    except yaml.YAMLError as exc:
        raise ConfigError(_error_message(path, exc)) from None
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"The configuration file '{path}' must hold a mapping of keys to values, not "
            f"{type(data).__name__}."
        )
    return data, lines
