"""Kedro's ``Pipeline`` as a pipeloop ``Pipeline``: the same nodes, names and datasets.

Each Kedro node becomes one pipeloop node with the Kedro node's name and exactly its dataset
names (transcoded ``ds@pandas`` included: the datasets stay Kedro's). A plain function is
called through the Kedro node's own ``run``, so Kedro's argument passing, output checks and
warnings apply unchanged; an ``async def`` function, which Kedro's runners cannot await, is
awaited by pipeloop. The Kedro node itself is kept, because Kedro's hooks must receive it.

Kedro orders a node reading ``ds@pandas`` after the node writing ``ds@spark``. So that the
order holds under any scheduler, the translation adds one *order dataset* per such written
name: the writer also outputs it and every reader of another format also inputs it. Order
datasets live in memory, are never handed to the Kedro functions and never reach Kedro's
hooks (:attr:`Translation.order_datasets` names them).
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeloop import Node, Pipeline, node
from pipeloop.errors import PipelineError

if TYPE_CHECKING:
    from kedro.pipeline import Pipeline as KedroPipeline
    from kedro.pipeline.node import Node as KedroNode

__all__ = ["Translation", "translate_pipeline"]

_ORDER_PREFIX = "pipeloop.kedro:order:"


def _base_name(dataset: str) -> str:
    """``ds`` for ``ds@pandas`` (and for ``ds``): Kedro's transcoding rule."""
    return dataset.split("@", 1)[0]


def _order_dataset(written: str) -> str:
    # No '@' in it, so it is never a format of a user's dataset.
    return _ORDER_PREFIX + written.replace("@", ":")


@dataclass(frozen=True)
class Translation:
    """A Kedro pipeline translated for pipeloop's runners.

    Attributes:
        pipeline: the pipeloop pipeline to run.
        kedro_nodes: pipeloop node name -> the Kedro node it runs (the names are equal).
        order_datasets: names the translation added to order transcoded datasets.
    """

    pipeline: Pipeline
    kedro_nodes: Mapping[str, KedroNode]
    order_datasets: frozenset[str]


class _KedroCall:
    """Runs a Kedro node on its inputs through ``Node.run``, as Kedro's runner does.

    Picklable when the Kedro node is (``ParallelRunner`` sends it to worker processes).
    """

    def __init__(self, kedro_node: KedroNode, hidden_inputs: Iterable[str],
                 hidden_outputs: Iterable[str]) -> None:
        self.kedro_node = kedro_node
        self.hidden_inputs = frozenset(hidden_inputs)
        self.hidden_outputs = tuple(hidden_outputs)
        # Read by pipeloop's logs, which name a node's function.
        self.__name__ = getattr(kedro_node.func, "__name__", type(self).__name__)

    def __call__(self, /, **inputs: Any) -> dict[str, Any]:
        visible = {name: data for name, data in inputs.items() if name not in self.hidden_inputs}
        outputs: dict[str, Any] = self.kedro_node.run(visible)
        # Any value but None will do: a dataset refuses to save None.
        outputs.update(dict.fromkeys(self.hidden_outputs, True))
        return outputs


class _AsyncKedroCall(_KedroCall):
    """Awaits an ``async def`` Kedro node function, with Kedro's input and output rules
    (checked by a pipeloop node made from the Kedro node's own inputs and outputs)."""

    def __init__(self, kedro_node: KedroNode, hidden_inputs: Iterable[str],
                 hidden_outputs: Iterable[str]) -> None:
        super().__init__(kedro_node, hidden_inputs, hidden_outputs)
        # Kedro keeps the declared form (a name, list or dict) only in these attributes.
        self.inner = node(kedro_node.func, kedro_node._inputs, kedro_node._outputs,
                          name=kedro_node.name)

    async def __call__(self, /, **inputs: Any) -> dict[str, Any]:  # type: ignore[override]
        visible = {name: data for name, data in inputs.items() if name not in self.hidden_inputs}
        outputs = await self.inner.arun(visible)
        outputs.update(dict.fromkeys(self.hidden_outputs, True))
        return outputs


def _order_links(nodes: list[KedroNode]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Order datasets each node must write and read, for transcoded names."""
    writer_of_base = {_base_name(out): (kn.name, out) for kn in nodes for out in kn.outputs}
    writes: dict[str, list[str]] = defaultdict(list)
    reads: dict[str, list[str]] = defaultdict(list)
    for kn in nodes:
        for name in dict.fromkeys(kn.inputs):
            found = writer_of_base.get(_base_name(name))
            if found is None or found[1] == name:
                continue  # a free input, or linked by its exact name already
            writer, written = found
            order = _order_dataset(written)
            if order not in writes[writer]:
                writes[writer].append(order)
            if order not in reads[kn.name]:
                reads[kn.name].append(order)
    return writes, reads


def _spec(names: Iterable[str]) -> dict[str, str] | None:
    mapping = {name: name for name in names}
    return mapping or None


def _translate_node(kedro_node: KedroNode, writes: list[str], reads: list[str]) -> Node:
    func = kedro_node.func
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        if writes or reads:
            raise PipelineError(
                f"Node '{kedro_node.name}' is a generator function reading or writing a "
                "transcoded dataset; pipeloop.kedro runners cannot order it. Run it with "
                "Kedro's own runner, or return the data instead of yielding it."
            )
        # Chunks are saved as they come only when pipeloop's node streams them.
        return node(func, kedro_node._inputs, kedro_node._outputs, name=kedro_node.name,
                    tags=kedro_node.tags)
    call_type = _AsyncKedroCall if inspect.iscoroutinefunction(func) else _KedroCall
    call = call_type(kedro_node, reads, writes)
    return node(call, _spec([*kedro_node.inputs, *reads]),
                _spec([*kedro_node.outputs, *writes]), name=kedro_node.name,
                tags=kedro_node.tags)


def translate_pipeline(kedro_pipeline: KedroPipeline) -> Translation:
    """Translate ``kedro_pipeline`` node by node (see the module docstring).

    Raises:
        NodeError: a Kedro node that pipeloop cannot run (the message names it).
        PipelineError: a generator node reads or writes a transcoded dataset.
    """
    kedro_nodes = list(kedro_pipeline.nodes)
    writes, reads = _order_links(kedro_nodes)
    translated = [_translate_node(kn, writes.get(kn.name, []), reads.get(kn.name, []))
                  for kn in kedro_nodes]
    order = frozenset(name for names in writes.values() for name in names)
    return Translation(
        pipeline=Pipeline(translated),
        kedro_nodes={kn.name: kn for kn in kedro_nodes},
        order_datasets=order,
    )
