"""``Pipeline`` and ``pipeline()``: nodes wired into a DAG by the datasets they share.

A pipeline is an immutable set of nodes. Everything the scheduler and the filters need (the
producer and consumers of each dataset, the parents and children of each node, a deterministic
topological order) is computed once, when the pipeline is made, in O(N log N) time. Filters are
breadth-first walks over those maps and return new pipelines; nothing is ever mutated.

Nodes link by base dataset name (see :mod:`pipeloop.engine.transcoding`): a node writing
``ds@pandas`` feeds a node reading ``ds@spark``. Renaming (``inputs=``, ``namespace=``...) is
:mod:`pipeloop.engine.modular`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TypeAlias

from pipeloop.engine.graph import dependency_edges, find_cycle, reachable, toposort
from pipeloop.engine.modular import DatasetMapping, rename_nodes
from pipeloop.engine.node import Node
from pipeloop.engine.transcoding import is_transcoded, strip_transcoding
from pipeloop.errors import PipelineError

__all__ = ["DatasetMapping", "Pipeline", "pipeline"]

Tags: TypeAlias = str | Iterable[str] | None


def _as_list(names: Tags) -> list[str]:
    return [names] if isinstance(names, str) else list(names or ())


def _join(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _unknown(what: str, unknown: Iterable[str], known: Iterable[str], hint: str = "", *,
             extra: Iterable[str] = ()) -> str:
    """``what: names.``, then ``hint`` and close matches among ``known`` names (and
    ``extra`` suggestions)."""
    known = sorted(known)
    suggestions = sorted({m for name in unknown for m in difflib.get_close_matches(name, known)}
                         | set(extra))
    message = f"{what}: {_join(unknown)}."
    if hint:
        message += f" {hint}"
    if suggestions:
        message += f" Did you mean: {_join(suggestions)}?"
    return message


def _other_formats(unknown: Iterable[str], names: Iterable[str]) -> list[str]:
    """The names among ``names`` that are another format of an ``unknown`` dataset."""
    bases = {strip_transcoding(name) for name in unknown}
    return [name for name in names if is_transcoded(name) and strip_transcoding(name) in bases]


class Pipeline:
    """An immutable, topologically sorted set of nodes.

    With ``inputs``, ``outputs``, ``parameters`` or ``namespace``, the nodes are first renamed
    as :func:`pipeline` describes (Kedro 1.x's constructor).

    Args:
        nodes: nodes and pipelines (flattened), or one pipeline; identical nodes are kept
            once, with the union of their tags.
        inputs: free inputs to keep (exempt from the namespace) or rename.
        outputs: outputs to keep or rename.
        parameters: parameters to keep or rename, with or without ``params:``.
        tags: tags added to every node.
        namespace: prefixes datasets, parameters and node names.
        prefix_datasets_with_namespace: ``False`` puts the nodes in ``namespace`` without
            renaming any dataset or parameter.

    Raises:
        PipelineError: an item is not a node or pipeline, two different nodes share a name,
            a dataset is the output of more than one node (in any format) or confirmed by
            more than one, a dataset is named both with and without a transcoding format,
            the nodes form a cycle, or a name to map is unknown.
    """

    __slots__ = ("_all_inputs", "_all_outputs", "_by_name", "_children", "_consumers",
                 "_free_inputs", "_free_outputs", "_nodes", "_parents", "_producer")

    def __init__(
        self,
        nodes: Iterable[Node | Pipeline] | Pipeline,
        *,
        inputs: DatasetMapping = None,
        outputs: DatasetMapping = None,
        parameters: DatasetMapping = None,
        tags: Tags = None,
        namespace: str | None = None,
        prefix_datasets_with_namespace: bool = True,
    ) -> None:
        unique = _unique_nodes(nodes)
        if namespace or any(arg is not None for arg in (inputs, outputs, parameters)):
            unique = _unique_nodes(rename_nodes(
                unique, inputs=inputs, outputs=outputs, parameters=parameters,
                namespace=namespace, prefix_datasets_with_namespace=prefix_datasets_with_namespace,
            ))
        extra = _as_list(tags)
        if extra:
            unique = [item.tag(extra) for item in unique]
        self._by_name = _index_names(unique)
        _check_transcoding(unique)
        _check_confirms(unique)
        self._producer = _index_producers(unique)
        self._parents, self._children = dependency_edges(unique, self._producer)
        self._nodes = _sorted_or_raise(unique, self._parents, self._children)
        self._consumers: dict[str, list[Node]] = {}
        for item in self._nodes:
            for dataset in dict.fromkeys(strip_transcoding(name) for name in item.inputs):
                self._consumers.setdefault(dataset, []).append(item)
        self._all_inputs = frozenset(name for item in unique for name in item.inputs)
        self._all_outputs = frozenset(name for item in unique for name in item.outputs)
        # A pipeline never changes: its free inputs and outputs are worked out once.
        self._free_inputs = frozenset(name for name in self._all_inputs
                                      if strip_transcoding(name) not in self._producer)
        self._free_outputs = frozenset(name for name in self._all_outputs
                                       if strip_transcoding(name) not in self._consumers)

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
        """The nodes that read ``dataset`` in any format (``ds`` and ``ds@spark`` alike), in
        topological order (empty if none)."""
        return list(self._consumers.get(strip_transcoding(dataset), ()))

    def producer(self, dataset: str) -> Node | None:
        """The node that writes ``dataset`` in any format (``ds@spark`` finds the writer of
        ``ds@pandas``), or ``None`` for a free input or unknown name."""
        return self._producer.get(strip_transcoding(dataset))

    def inputs(self) -> set[str]:
        """Free inputs: datasets read but not produced here in any format (including
        parameters), by the names the nodes read them."""
        return set(self._free_inputs)

    def outputs(self) -> set[str]:
        """Free outputs: datasets produced but not read here in any format, by the names the
        nodes write them."""
        return set(self._free_outputs)

    def all_inputs(self) -> set[str]:
        """Every dataset some node reads."""
        return set(self._all_inputs)

    def all_outputs(self) -> set[str]:
        """Every dataset some node writes."""
        return set(self._all_outputs)

    def datasets(self) -> set[str]:
        """Every dataset name the pipeline uses (each format of a transcoded dataset)."""
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
        return self.only_nodes_with_namespaces([namespace])

    def only_nodes_with_namespaces(self, node_namespaces: Iterable[str]) -> Pipeline:
        """The nodes in any of ``node_namespaces``, or in a namespace nested in one.

        Raises:
            PipelineError: no node is in one of those namespaces.
        """
        wanted = _as_list(node_namespaces)
        found: dict[str, list[Node]] = {namespace: [] for namespace in wanted}
        for item in self._nodes:
            for namespace in wanted:
                if item.namespace is not None and (
                    item.namespace == namespace or item.namespace.startswith(f"{namespace}.")
                ):
                    found[namespace].append(item)
        unmatched = [namespace for namespace, items in found.items() if not items]
        if unmatched:
            known = {item.namespace for item in self._nodes if item.namespace}
            raise PipelineError(_unknown("Pipeline has no nodes in namespace", unmatched, known))
        return Pipeline(item for items in found.values() for item in items)

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

    def only_nodes_with_inputs(self, *datasets: str) -> Pipeline:
        """The nodes that read any of ``datasets``. A transcoded dataset's base name (``ds``)
        matches every format of it; ``ds@spark`` matches that format only.

        Raises:
            PipelineError: a dataset is not read by any node.
        """
        return Pipeline(self._readers(datasets))

    def from_inputs(self, *datasets: str) -> Pipeline:
        """The nodes that read ``datasets`` (as :meth:`only_nodes_with_inputs` matches them)
        and every node downstream of them.

        Raises:
            PipelineError: a dataset is not read by any node.
        """
        return Pipeline(reachable(self._readers(datasets), self._children.__getitem__))

    def only_nodes_with_outputs(self, *datasets: str) -> Pipeline:
        """The nodes that write any of ``datasets``. A transcoded dataset's base name
        (``ds``) matches its writer whatever the format; ``ds@pandas`` matches only a node
        writing that format.

        Raises:
            PipelineError: a dataset is not produced by any node.
        """
        return Pipeline(self._writers(datasets))

    def to_outputs(self, *datasets: str) -> Pipeline:
        """The nodes needed to produce ``datasets`` (as :meth:`only_nodes_with_outputs`
        matches them).

        Raises:
            PipelineError: a dataset is not produced by any node.
        """
        return Pipeline(reachable(self._writers(datasets), self._parents.__getitem__))

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
            ("node_namespaces", node_namespaces,
             lambda *names: self.only_nodes_with_namespaces(names)),
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
            # "clean" for "ns.clean": the node moved into a namespace.
            spaced = [known for name in unknown for known in self._by_name
                      if known.endswith(f".{name}")]
            raise PipelineError(_unknown("Pipeline does not contain nodes named", unknown,
                                         self._by_name, extra=spaced))
        return [self._by_name[name] for name in names]

    def _readers(self, datasets: Iterable[str]) -> list[Node]:
        found: dict[Node, None] = {}
        unknown = []
        for dataset in datasets:
            readers = [item for item in self.consumers(dataset)
                       if not is_transcoded(dataset) or dataset in item.inputs]
            if not readers:
                unknown.append(dataset)
            found.update(dict.fromkeys(readers))
        if unknown:
            known = self._all_inputs | {strip_transcoding(name) for name in self._all_inputs}
            raise PipelineError(_unknown("No node of the pipeline reads datasets", unknown, known,
                                         extra=_other_formats(unknown, self._all_inputs)))
        return list(found)

    def _writers(self, datasets: Iterable[str]) -> list[Node]:
        found: dict[Node, None] = {}
        unknown = []
        for dataset in datasets:
            writer = self.producer(dataset)
            if writer is None or (is_transcoded(dataset) and dataset not in writer.outputs):
                unknown.append(dataset)
            else:
                found[writer] = None
        if unknown:
            known = self._all_outputs | {strip_transcoding(name) for name in self._all_outputs}
            raise PipelineError(_unknown("No node of the pipeline produces datasets", unknown,
                                         known, extra=_other_formats(unknown, self._all_outputs)))
        return list(found)

    # -- operators and protocols --------------------------------------------------------------

    def __add__(self, other: object) -> Pipeline:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return Pipeline([self, other])

    def __radd__(self, other: object) -> Pipeline:
        # sum(pipelines) starts from 0, as every Kedro registry's sum(pipes.values()) does.
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented

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
    """Identical nodes once each, merging their tags so the result ignores input order.

    Nodes are identical when their names and datasets are (as in Kedro); two such nodes
    with different functions are a name clash, not one node.
    """
    seen: dict[Node, Node] = {}
    clashes = set()
    for item in _flatten(items):
        kept = seen.setdefault(item, item)
        if kept is not item and not kept._same_function(item):
            clashes.add(item.name)
        if not item.tags <= kept.tags:
            seen[item] = kept.tag(item.tags)
    if clashes:
        raise PipelineError(
            "Pipeline nodes must have unique names; these names are used by nodes with "
            f"different functions: {_join(clashes)}. Name nodes with node(..., name=...)."
        )
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


def _check_transcoding(nodes: list[Node]) -> None:
    """A transcoded dataset is named with a format everywhere: ``ds`` beside ``ds@pandas``
    would be a second dataset that the graph cannot tell apart from the first."""
    names = {name for item in nodes for name in (*item.inputs, *item.outputs)}
    plain = sorted({strip_transcoding(name) for name in names if is_transcoded(name)} & names)
    if plain:
        raise PipelineError(
            f"Datasets used with transcoding are also named without a format: {_join(plain)}. "
            "Name every use as '<dataset>@<format>', or rename the plain one."
        )


def _check_confirms(nodes: list[Node]) -> None:
    confirmers: dict[str, list[str]] = {}
    for item in nodes:
        for dataset in item.confirms:
            confirmers.setdefault(strip_transcoding(dataset), []).append(item.name)
    clashes = {name: found for name, found in confirmers.items() if len(found) > 1}
    if clashes:
        details = "; ".join(f"'{name}' by {_join(clashes[name])}" for name in sorted(clashes))
        raise PipelineError(f"Datasets are confirmed by more than one node: {details}. "
                            "Each dataset must be confirmed by one node only.")


def _index_producers(nodes: list[Node]) -> dict[str, Node]:
    """The producer of each dataset, by base name (``ds@pandas`` and ``ds@spark`` are
    ``ds``)."""
    producers: dict[str, list[Node]] = {}
    for item in nodes:
        for dataset in dict.fromkeys(strip_transcoding(name) for name in item.outputs):
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


def pipeline(
    pipe: Pipeline | Iterable[Node | Pipeline],
    *,
    inputs: DatasetMapping = None,
    outputs: DatasetMapping = None,
    parameters: DatasetMapping = None,
    tags: Tags = None,
    namespace: str | None = None,
    prefix_datasets_with_namespace: bool = True,
) -> Pipeline:
    """Re-use ``pipe`` with renamed datasets, optionally in a namespace (Kedro's modular
    pipelines; the same as ``Pipeline(pipe, ...)``).

    ``inputs``, ``outputs`` and ``parameters`` each take a name or names (kept as they are,
    exempt from the namespace) or a dict of old name -> new name. With ``namespace``, every
    other dataset ``x`` becomes ``namespace.x`` and every other parameter ``params:x``
    becomes ``params:namespace.x`` (``parameters``, the whole dictionary, stays); the nodes
    move into ``namespace``, nested under it when they already had one. A transcoded
    ``ds@format`` follows its base name ``ds``. The rules in full are in
    :mod:`pipeloop.engine.modular`.

    Args:
        pipe: a pipeline, or a list of nodes and pipelines.
        inputs: free inputs of ``pipe`` (not parameters) to keep or rename.
        outputs: outputs of ``pipe`` to keep or rename.
        parameters: parameters used by ``pipe``, with or without the ``params:`` prefix.
        tags: tags added to every node.
        namespace: the namespace for datasets, parameters and nodes.
        prefix_datasets_with_namespace: ``False`` moves the nodes into ``namespace`` but
            renames no dataset or parameter (a namespace only to group nodes, as for
            deployment).

    Raises:
        PipelineError: a name to map is not an input, output or parameter of ``pipe`` as
            required, or the renamed pipeline is invalid.
    """
    return Pipeline(pipe, inputs=inputs, outputs=outputs, parameters=parameters, tags=tags,
                    namespace=namespace,
                    prefix_datasets_with_namespace=prefix_datasets_with_namespace)
