"""``Pipeline`` and ``pipeline()``: nodes wired into a DAG by the datasets they share.

A pipeline is an immutable set of nodes. Everything the scheduler and the filters need (the
producer and consumers of each dataset, the parents and children of each node, a deterministic
topological order) is computed once, when the pipeline is made, in O(N log N) time. Filters are
breadth-first walks over those maps and return new pipelines; nothing is ever mutated.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeAlias

from pipeloop.engine.graph import dependency_edges, find_cycle, reachable, toposort
from pipeloop.engine.node import Node
from pipeloop.errors import PipelineError

__all__ = ["DatasetMapping", "Pipeline", "pipeline"]

DatasetMapping: TypeAlias = str | Iterable[str] | Mapping[str, str] | None
"""A name, names kept as they are, or old name -> new name (see :func:`pipeline`)."""

Tags: TypeAlias = str | Iterable[str] | None

_PARAMS_PREFIX = "params:"
_ALL_PARAMETERS = "parameters"


def _is_parameter(name: str) -> bool:
    return name == _ALL_PARAMETERS or name.startswith(_PARAMS_PREFIX)


def _as_list(names: Tags) -> list[str]:
    return [names] if isinstance(names, str) else list(names or ())


def _join(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _unknown(what: str, unknown: Iterable[str], known: Iterable[str], hint: str = "") -> str:
    """``what: names.``, then ``hint`` and close matches among ``known`` names."""
    known = list(known)
    suggestions = sorted({m for name in unknown for m in difflib.get_close_matches(name, known)})
    message = f"{what}: {_join(unknown)}."
    if hint:
        message += f" {hint}"
    if suggestions:
        message += f" Did you mean: {_join(suggestions)}?"
    return message


class Pipeline:
    """An immutable, topologically sorted set of nodes.

    Args:
        nodes: nodes and pipelines (flattened), or one pipeline; identical nodes are kept
            once, with the union of their tags.
        tags: tags added to every node.

    Raises:
        PipelineError: an item is not a node or pipeline, two different nodes share a name,
            a dataset is the output of more than one node, or the nodes form a cycle.
    """

    __slots__ = ("_all_inputs", "_all_outputs", "_by_name", "_children", "_consumers",
                 "_nodes", "_parents", "_producer")

    def __init__(self, nodes: Iterable[Node | Pipeline] | Pipeline, *, tags: Tags = None) -> None:
        unique = _unique_nodes(nodes)
        extra = _as_list(tags)
        if extra:
            unique = [item.tag(extra) for item in unique]
        self._by_name = _index_names(unique)
        self._producer = _index_producers(unique)
        self._parents, self._children = dependency_edges(unique, self._producer)
        self._nodes = _sorted_or_raise(unique, self._parents, self._children)
        self._consumers: dict[str, list[Node]] = {}
        for item in self._nodes:
            for dataset in dict.fromkeys(item.inputs):
                self._consumers.setdefault(dataset, []).append(item)
        self._all_inputs = frozenset(self._consumers)
        self._all_outputs = frozenset(self._producer)

    # -- structure --------------------------------------------------------------------------

    @property
    def nodes(self) -> list[Node]:
        """The nodes in topological order; among nodes ready together, by name."""
        return list(self._nodes)

    @property
    def grouped_nodes(self) -> list[list[Node]]:
        """The nodes in layers: each layer depends only on earlier ones; sorted by name."""
        depth: dict[Node, int] = {}
        layers: list[list[Node]] = []
        for item in self._nodes:
            level = max((depth[parent] for parent in self._parents[item]), default=-1) + 1
            depth[item] = level
            if level == len(layers):
                layers.append([])
            layers[level].append(item)
        return [sorted(layer, key=lambda item: item.name) for layer in layers]

    @property
    def node_dependencies(self) -> dict[Node, set[Node]]:
        """Each node -> the nodes that produce its inputs (a copy)."""
        return {item: set(parents) for item, parents in self._parents.items()}

    def consumers(self, dataset: str) -> list[Node]:
        """The nodes that read ``dataset``, in topological order (empty if none)."""
        return list(self._consumers.get(dataset, ()))

    def producer(self, dataset: str) -> Node | None:
        """The node that writes ``dataset``, or ``None`` for a free input or unknown name."""
        return self._producer.get(dataset)

    def inputs(self) -> set[str]:
        """Free inputs: datasets read but not produced here (including parameters)."""
        return set(self._all_inputs - self._all_outputs)

    def outputs(self) -> set[str]:
        """Free outputs: datasets produced but not read here."""
        return set(self._all_outputs - self._all_inputs)

    def all_inputs(self) -> set[str]:
        """Every dataset some node reads."""
        return set(self._all_inputs)

    def all_outputs(self) -> set[str]:
        """Every dataset some node writes."""
        return set(self._all_outputs)

    def datasets(self) -> set[str]:
        """Every dataset name the pipeline uses."""
        return set(self._all_inputs | self._all_outputs)

    def describe(self, names_only: bool = True) -> str:
        """The free inputs, the nodes in execution order and the free outputs, as text.

        Args:
            names_only: list node names; when ``False``, ``str(node)`` (function and
                datasets).
        """
        lines = "\n".join(item.name if names_only else str(item) for item in self._nodes)
        return (
            "#### Pipeline execution order ####\n"
            f"Inputs: {_join(self.inputs()) or 'None'}\n\n"
            f"{lines}\n\n"
            f"Outputs: {_join(self.outputs()) or 'None'}\n"
            "##################################"
        )

    # -- filters ------------------------------------------------------------------------------

    def only_nodes(self, *node_names: str) -> Pipeline:
        """The named nodes only.

        Raises:
            PipelineError: a name is not a node of this pipeline.
        """
        return Pipeline(self._named(node_names))

    def only_nodes_with_tags(self, *tags: str) -> Pipeline:
        """The nodes that have any of ``tags`` (possibly none)."""
        wanted = set(tags)
        return Pipeline(item for item in self._nodes if item.tags & wanted)

    def only_nodes_with_namespace(self, namespace: str) -> Pipeline:
        """The nodes in ``namespace`` or in a namespace nested in it.

        Raises:
            PipelineError: no node is in that namespace.
        """
        return self._with_namespaces(namespace)

    def from_nodes(self, *node_names: str) -> Pipeline:
        """The named nodes and every node downstream of them.

        Raises:
            PipelineError: a name is not a node of this pipeline.
        """
        return Pipeline(reachable(self._named(node_names), self._children.__getitem__))

    def to_nodes(self, *node_names: str) -> Pipeline:
        """The named nodes and every node upstream of them.

        Raises:
            PipelineError: a name is not a node of this pipeline.
        """
        return Pipeline(reachable(self._named(node_names), self._parents.__getitem__))

    def from_inputs(self, *datasets: str) -> Pipeline:
        """The nodes that read ``datasets`` and every node downstream of them.

        Raises:
            PipelineError: a dataset is not read by any node.
        """
        self._check_datasets(datasets, self._all_inputs, "reads")
        start = [item for dataset in datasets for item in self._consumers[dataset]]
        return Pipeline(reachable(start, self._children.__getitem__))

    def to_outputs(self, *datasets: str) -> Pipeline:
        """The nodes needed to produce ``datasets``.

        Raises:
            PipelineError: a dataset is not produced by any node.
        """
        self._check_datasets(datasets, self._all_outputs, "produces")
        start = [self._producer[dataset] for dataset in datasets]
        return Pipeline(reachable(start, self._parents.__getitem__))

    def filter(
        self,
        tags: Iterable[str] | None = None,
        from_nodes: Iterable[str] | None = None,
        to_nodes: Iterable[str] | None = None,
        node_names: Iterable[str] | None = None,
        from_inputs: Iterable[str] | None = None,
        to_outputs: Iterable[str] | None = None,
        node_namespaces: Iterable[str] | None = None,
    ) -> Pipeline:
        """Apply every given filter to this pipeline and keep the nodes all of them keep.

        Raises:
            PipelineError: a filter names something unknown, or no node is left.
        """
        filters: list[tuple[str, Iterable[str] | None, Callable[..., Pipeline]]] = [
            ("tags", tags, self.only_nodes_with_tags),
            ("from_nodes", from_nodes, self.from_nodes),
            ("to_nodes", to_nodes, self.to_nodes),
            ("node_names", node_names, self.only_nodes),
            ("from_inputs", from_inputs, self.from_inputs),
            ("to_outputs", to_outputs, self.to_outputs),
            ("node_namespaces", node_namespaces, self._with_namespaces),
        ]
        kept = set(self._nodes)
        used = []
        for label, argument, method in filters:
            names = _as_list(argument)
            if names:
                used.append(f"{label}={names}")
                kept &= set(method(*names)._nodes)
        if not kept:
            raise PipelineError(
                "Pipeline contains no nodes after applying all provided filters "
                f"({', '.join(used) or 'none'}). Check that the names and tags match "
                "nodes of the pipeline."
            )
        return Pipeline(kept)

    def tag(self, tags: str | Iterable[str]) -> Pipeline:
        """A copy of this pipeline with ``tags`` added to every node."""
        return Pipeline(self._nodes, tags=tags)

    def _named(self, names: Iterable[str]) -> list[Node]:
        unknown = [name for name in names if name not in self._by_name]
        if unknown:
            raise PipelineError(
                _unknown("Pipeline does not contain nodes named", unknown, self._by_name)
            )
        return [self._by_name[name] for name in names]

    def _check_datasets(self, names: Iterable[str], known: frozenset[str], verb: str) -> None:
        unknown = [name for name in names if name not in known]
        if unknown:
            message = f"No node of the pipeline {verb} datasets"
            raise PipelineError(_unknown(message, unknown, known))

    def _with_namespaces(self, *namespaces: str) -> Pipeline:
        found = [
            item for item in self._nodes
            if item.namespace is not None and any(
                item.namespace == wanted or item.namespace.startswith(f"{wanted}.")
                for wanted in namespaces
            )
        ]
        if not found:
            known = {item.namespace for item in self._nodes if item.namespace}
            raise PipelineError(_unknown("Pipeline has no nodes in namespace", namespaces, known))
        return Pipeline(found)

    # -- operators and protocols --------------------------------------------------------------

    def __add__(self, other: object) -> Pipeline:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return Pipeline([self, other])

    def __or__(self, other: object) -> Pipeline:
        return self.__add__(other)

    def __sub__(self, other: object) -> Pipeline:
        if not isinstance(other, Pipeline):
            return NotImplemented
        removed = set(other._nodes)
        return Pipeline(item for item in self._nodes if item not in removed)

    def __and__(self, other: object) -> Pipeline:
        if not isinstance(other, Pipeline):
            return NotImplemented
        shared = set(other._nodes)
        return Pipeline(item for item in self._nodes if item in shared)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return set(self._nodes) == set(other._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return "Pipeline([\n" + ",\n".join(repr(item) for item in self._nodes) + "\n])"


# -- construction steps ---------------------------------------------------------------------


def _flatten(items: Iterable[Node | Pipeline] | Pipeline) -> Iterator[Node]:
    if isinstance(items, Pipeline):
        yield from items._nodes
        return
    if isinstance(items, (str, Node)) or not isinstance(items, Iterable):
        raise PipelineError(f"Pipeline takes a list of nodes and pipelines, "
                            f"not {type(items).__name__}.")
    for item in items:
        if isinstance(item, Pipeline):
            yield from item._nodes
        elif isinstance(item, Node):
            yield item
        else:
            raise PipelineError(f"Pipeline takes nodes and pipelines, not "
                                f"{type(item).__name__}: {item!r:.80}")


def _unique_nodes(items: Iterable[Node | Pipeline] | Pipeline) -> list[Node]:
    """Identical nodes once each, merging their tags so the result ignores input order."""
    seen: dict[Node, Node] = {}
    for item in _flatten(items):
        kept = seen.setdefault(item, item)
        if not item.tags <= kept.tags:
            seen[item] = kept.tag(item.tags)
    return list(seen.values())


def _index_names(nodes: list[Node]) -> dict[str, Node]:
    by_name: dict[str, Node] = {}
    duplicates = set()
    for item in nodes:
        if by_name.setdefault(item.name, item) is not item:
            duplicates.add(item.name)
    if duplicates:
        raise PipelineError(
            "Pipeline nodes must have unique names; these names are used by more than one "
            f"node: {_join(duplicates)}. Name nodes with node(..., name=...)."
        )
    return by_name


def _index_producers(nodes: list[Node]) -> dict[str, Node]:
    producers: dict[str, list[Node]] = {}
    for item in nodes:
        for dataset in item.outputs:
            producers.setdefault(dataset, []).append(item)
    clashes = {name: found for name, found in producers.items() if len(found) > 1}
    if clashes:
        details = "; ".join(
            f"'{name}' by {_join(item.name for item in clashes[name])}" for name in sorted(clashes)
        )
        raise PipelineError(f"Datasets are outputs of more than one node: {details}. "
                            "Each dataset must be produced by one node only.")
    return {name: found[0] for name, found in producers.items()}


def _sorted_or_raise(
    nodes: list[Node], parents: Mapping[Node, set[Node]], children: Mapping[Node, set[Node]]
) -> list[Node]:
    order, stuck = toposort(nodes, parents, children)
    if stuck:
        raise PipelineError("Circular dependencies exist among these nodes: "
                            f"{_join(item.name for item in find_cycle(stuck, parents))}.")
    return order


# -- pipeline() -----------------------------------------------------------------------------


def _to_mapping(names: DatasetMapping) -> dict[str, str]:
    if names is None:
        return {}
    if isinstance(names, str):
        return {names: names}
    if isinstance(names, Mapping):
        return dict(names)
    return {name: name for name in names}


def _as_parameter(name: str) -> str:
    return name if _is_parameter(name) else f"{_PARAMS_PREFIX}{name}"


def _check_mapped(kind: str, names: Iterable[str], known: set[str], rule: str) -> None:
    unknown = sorted(set(names) - known)
    if unknown:
        raise PipelineError(_unknown(f"Cannot map {kind}", unknown, known, rule))


def pipeline(
    pipe: Pipeline | Iterable[Node | Pipeline],
    *,
    inputs: DatasetMapping = None,
    outputs: DatasetMapping = None,
    parameters: DatasetMapping = None,
    namespace: str | None = None,
    tags: Tags = None,
) -> Pipeline:
    """Re-use ``pipe`` with renamed datasets, optionally in a namespace.

    ``inputs``, ``outputs`` and ``parameters`` each take a name or names (kept as they are,
    exempt from the namespace) or a dict of old name -> new name. With ``namespace``, every
    other dataset that is not a parameter is renamed ``namespace.name``, and the nodes move
    into ``namespace`` (nested under it when they already had one).

    Args:
        pipe: a pipeline, or a list of nodes and pipelines.
        inputs: free inputs of ``pipe`` (not parameters) to keep or rename.
        outputs: outputs of ``pipe`` to keep or rename.
        parameters: parameters used by ``pipe``, with or without the ``params:`` prefix.
        namespace: the namespace for datasets and nodes.
        tags: tags added to every node.

    Raises:
        PipelineError: a name to map is not an input, output or parameter of ``pipe`` as
            required, or the renamed pipeline is invalid.
    """
    source = pipe if isinstance(pipe, Pipeline) else Pipeline(pipe)
    input_map = _to_mapping(inputs)
    output_map = _to_mapping(outputs)
    parameter_map = {
        _as_parameter(old): _as_parameter(new) for old, new in _to_mapping(parameters).items()
    }
    used_parameters = {name for name in source.all_inputs() if _is_parameter(name)}
    if any(_is_parameter(name) for name in input_map):
        raise PipelineError("Map parameters with the `parameters` argument, not `inputs`: "
                            f"{_join(name for name in input_map if _is_parameter(name))}.")
    _check_mapped("inputs", input_map, source.inputs() - used_parameters,
                  "`inputs` must be free inputs (datasets no node of the pipeline produces).")
    _check_mapped("outputs", output_map, source.all_outputs(),
                  "`outputs` must be datasets some node of the pipeline produces.")
    _check_mapped("parameters", parameter_map, used_parameters,
                  "`parameters` must be parameters some node of the pipeline reads.")
    mapping = {**input_map, **output_map, **parameter_map}

    def rename(name: str) -> str:
        if name in mapping:
            return mapping[name]
        if namespace and not _is_parameter(name):
            return f"{namespace}.{name}"
        return name

    return Pipeline(
        [item._renamed(rename, _nested(namespace, item.namespace)) for item in source._nodes],
        tags=tags,
    )


def _nested(outer: str | None, inner: str | None) -> str | None:
    if not outer:
        return inner
    return f"{outer}.{inner}" if inner else outer

