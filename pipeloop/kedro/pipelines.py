"""Kedro's ``Pipeline`` as a pipeloop ``Pipeline``: the same nodes, names and datasets.

Each Kedro node becomes one pipeloop node with the Kedro node's name and exactly its dataset
names (transcoded ``ds@pandas`` included: the datasets stay Kedro's). A plain function is
called through the Kedro node's own ``run``, so Kedro's argument passing, output checks and
warnings apply unchanged; an ``async def`` function, which Kedro's runners cannot await, is
awaited by pipeloop. The Kedro node itself is kept, because Kedro's hooks must receive it.
pipeloop's scheduler links transcoded names as Kedro does (a node reading ``ds@pandas``
waits for the node writing ``ds@spark``), so the translation adds nothing to the pipeline.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipeloop import Node, Pipeline, node

if TYPE_CHECKING:
    from kedro.pipeline import Pipeline as KedroPipeline
    from kedro.pipeline.node import Node as KedroNode

__all__ = ["Translation", "translate_pipeline"]

@dataclass(frozen=True)
class Translation:
    """A Kedro pipeline translated for pipeloop's runners.

    Attributes:
        pipeline: the pipeloop pipeline to run.
        kedro_nodes: pipeloop node name -> the Kedro node it runs (the names are equal).
    """

    pipeline: Pipeline
    kedro_nodes: Mapping[str, KedroNode]


class _KedroCall:
    """Runs a Kedro node on its inputs through ``Node.run``, as Kedro's runner does.

    Picklable when the Kedro node is (``ParallelRunner`` sends it to worker processes).
    """

    def __init__(self, kedro_node: KedroNode) -> None:
        self.kedro_node = kedro_node
        # Read by pipeloop's logs, which name a node's function.
        self.__name__ = getattr(kedro_node.func, "__name__", type(self).__name__)

    def __call__(self, /, **inputs: Any) -> dict[str, Any]:
        outputs: dict[str, Any] = self.kedro_node.run(inputs)
        return outputs


class _AsyncKedroCall(_KedroCall):
    """Awaits an ``async def`` Kedro node function, with Kedro's input and output rules
    (checked by a pipeloop node made from the Kedro node's own inputs and outputs)."""

    def __init__(self, kedro_node: KedroNode) -> None:
        super().__init__(kedro_node)
        # Kedro keeps the declared form (a name, list or dict) only in these attributes.
        self.inner = node(kedro_node.func, kedro_node._inputs, kedro_node._outputs,
                          name=kedro_node.name)

    async def __call__(self, /, **inputs: Any) -> dict[str, Any]:  # type: ignore[override]
        return await self.inner.arun(inputs)


def _spec(names: Iterable[str]) -> dict[str, str] | None:
    mapping = {name: name for name in names}
    return mapping or None


def _translate_node(kedro_node: KedroNode) -> Node:
    func = kedro_node.func
    if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
        # pipeloop's node streams the chunks, saving each as it comes.
        return node(func, kedro_node._inputs, kedro_node._outputs, name=kedro_node.name,
                    tags=kedro_node.tags, confirms=kedro_node.confirms)
    call_type = _AsyncKedroCall if inspect.iscoroutinefunction(func) else _KedroCall
    return node(call_type(kedro_node), _spec(kedro_node.inputs), _spec(kedro_node.outputs),
                name=kedro_node.name, tags=kedro_node.tags, confirms=kedro_node.confirms)


def translate_pipeline(kedro_pipeline: KedroPipeline) -> Translation:
    """Translate ``kedro_pipeline`` node by node (see the module docstring).

    Raises:
        NodeError: a Kedro node that pipeloop cannot run (the message names it).
    """
    kedro_nodes = list(kedro_pipeline.nodes)
    return Translation(
        pipeline=Pipeline(_translate_node(kn) for kn in kedro_nodes),
        kedro_nodes={kn.name: kn for kn in kedro_nodes},
    )
