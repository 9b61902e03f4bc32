"""Modular pipelines: the same nodes re-used under new dataset names, in a namespace.

``pipeline(p, inputs=, outputs=, parameters=, namespace=)`` (and the same arguments of
``Pipeline(...)``) renames every dataset of ``p``'s nodes by Kedro's rules, in this order:

1. a name given in ``inputs``, ``outputs`` or ``parameters`` takes its new name (a name
   listed without a new one keeps its name, exempt from the namespace);
2. ``parameters`` (the whole dictionary) stays as it is;
3. a transcoded ``ds@format`` whose base ``ds`` was given takes the new base, same format;
4. with a namespace, ``params:x`` becomes ``params:<namespace>.x``;
5. with a namespace, any other dataset ``x`` becomes ``<namespace>.x``.

``prefix_datasets_with_namespace=False`` skips rules 4 and 5: the namespace then only groups
the nodes (their names and ``namespace``), as for deployment. Nodes move into the namespace,
nested under it when they already had one, so applying namespaces in turn nests them.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import TypeAlias

from pipeloop.engine.node import Node
from pipeloop.engine.transcoding import TRANSCODING_SEPARATOR, split_transcoding, strip_transcoding
from pipeloop.errors import PipelineError

__all__ = ["DatasetMapping", "is_parameter", "rename_nodes"]

DatasetMapping: TypeAlias = str | Iterable[str] | Mapping[str, str] | None
"""A name, names kept as they are, or old name -> new name."""

_PARAMS_PREFIX = "params:"
_ALL_PARAMETERS = "parameters"


def is_parameter(name: str) -> bool:
    """Whether ``name`` reads parameters: ``parameters`` or ``params:<key>``."""
    return name == _ALL_PARAMETERS or name.startswith(_PARAMS_PREFIX)


def _join(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _to_mapping(names: DatasetMapping) -> dict[str, str]:
    if names is None:
        return {}
    if isinstance(names, str):
        return {names: names}
    if isinstance(names, Mapping):
        return dict(names)
    return {name: name for name in names}


def _as_parameter(name: str) -> str:
    return name if is_parameter(name) else f"{_PARAMS_PREFIX}{name}"


def _with_bases(names: Iterable[str]) -> set[str]:
    """``names`` and their base names, the ways a mapping may refer to them."""
    names = set(names)
    return names | {strip_transcoding(name) for name in names}


def _check_mapped(kind: str, names: Iterable[str], known: set[str], rule: str) -> None:
    unknown = sorted(set(names) - known)
    if unknown:
        close = sorted({match for name in unknown
                        for match in difflib.get_close_matches(name, sorted(known))})
        message = f"Cannot map {kind}: {_join(unknown)}. {rule}"
        if close:
            message += f" Did you mean: {_join(close)}?"
        raise PipelineError(message)


def _mapping(
    nodes: list[Node], inputs: DatasetMapping, outputs: DatasetMapping,
    parameters: DatasetMapping,
) -> dict[str, str]:
    """The checked old name -> new name mapping of ``inputs``, ``outputs`` and
    ``parameters``."""
    input_map = _to_mapping(inputs)
    output_map = _to_mapping(outputs)
    parameter_map = {
        _as_parameter(old): _as_parameter(new) for old, new in _to_mapping(parameters).items()
    }
    read = {name for item in nodes for name in item.inputs}
    written = {name for item in nodes for name in item.outputs}
    produced = {strip_transcoding(name) for name in written}
    free = {name for name in read if strip_transcoding(name) not in produced}
    used_parameters = {name for name in read if is_parameter(name)}
    if any(is_parameter(name) for name in input_map):
        raise PipelineError("Map parameters with the `parameters` argument, not `inputs`: "
                            f"{_join(name for name in input_map if is_parameter(name))}.")
    _check_mapped("inputs", input_map, _with_bases(free - used_parameters),
                  "`inputs` must be free inputs (datasets no node of the pipeline produces).")
    _check_mapped("outputs", output_map, _with_bases(written),
                  "`outputs` must be datasets some node of the pipeline produces.")
    _check_mapped("parameters", parameter_map, used_parameters,
                  "`parameters` must be parameters some node of the pipeline reads.")
    return {**input_map, **output_map, **parameter_map}


def rename_nodes(
    nodes: Iterable[Node],
    *,
    inputs: DatasetMapping = None,
    outputs: DatasetMapping = None,
    parameters: DatasetMapping = None,
    namespace: str | None = None,
    prefix_datasets_with_namespace: bool = True,
) -> list[Node]:
    """Copies of ``nodes`` with their datasets (inputs, outputs, confirms) renamed by the
    rules in this module's docstring, moved into ``namespace``.

    Raises:
        PipelineError: a name to map is not a free input, an output or a parameter of the
            nodes as required; the message suggests close matches.
    """
    nodes = list(nodes)
    mapping = _mapping(nodes, inputs, outputs, parameters)
    prefix = namespace if namespace and prefix_datasets_with_namespace else None

    def rename(name: str) -> str:
        if name in mapping:
            return mapping[name]
        if name == _ALL_PARAMETERS:
            return name
        base, fmt = split_transcoding(name)
        if fmt and base in mapping:
            return f"{mapping[base]}{TRANSCODING_SEPARATOR}{fmt}"
        if prefix is None:
            return name
        if name.startswith(_PARAMS_PREFIX):
            return f"{_PARAMS_PREFIX}{prefix}.{name[len(_PARAMS_PREFIX):]}"
        return f"{prefix}.{name}"

    return [item._renamed(rename, _nested(namespace, item.namespace)) for item in nodes]


def _nested(outer: str | None, inner: str | None) -> str | None:
    if not outer:
        return inner
    return f"{outer}.{inner}" if inner else outer
