"""Resume advice: which nodes to start from after a run stopped part-way.

Re-running only the unfinished nodes is not enough when their inputs lived in memory: those
were lost with the failed run. The advice walks upstream from every unfinished node until
each input is persisted (or is a free input), then names the nodes where that walk starts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.node import Node

__all__ = ["nodes_to_resume_from", "resume_command"]


def _is_persisted(name: str, catalog: DataCatalog) -> bool:
    dataset = catalog.get(name)
    return dataset is not None and dataset.persistent


def nodes_to_resume_from(
    nodes: Iterable[Node], unfinished: Collection[Node], catalog: DataCatalog
) -> list[str]:
    """Names of the nodes that ``--from-nodes`` needs to finish the pipeline.

    Args:
        nodes: every node of the pipeline that ran.
        unfinished: nodes that did not complete (failed, cancelled, never started).
        catalog: the run's catalog, which says which datasets are persisted.

    Returns:
        Sorted node names; running the pipeline ``from_nodes`` these re-runs every unfinished
        node and each producer of in-memory data they need.
    """
    producer = {output: node for node in nodes for output in node.outputs}
    to_run: set[Node] = set()
    stack = list(unfinished)
    while stack:
        current = stack.pop()
        if current in to_run:
            continue
        to_run.add(current)
        for name in current.inputs:
            parent = producer.get(name)
            if parent is not None and not _is_persisted(name, catalog):
                stack.append(parent)
    starts = {
        current
        for current in to_run
        if not any(producer.get(name) in to_run for name in current.inputs)
    }
    return sorted(current.name for current in starts)


def resume_command(node_names: Iterable[str]) -> str:
    """The CLI argument that resumes a run: ``--from-nodes "a,b"``."""
    return f'--from-nodes "{",".join(node_names)}"'
