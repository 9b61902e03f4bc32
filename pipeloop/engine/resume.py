"""Resume advice: which nodes to start from after a run stopped part-way.

Re-running only the unfinished nodes is not enough when their inputs lived in memory: those
were lost with the failed run. The advice walks upstream from every unfinished node until
each input is persisted (or is a free input), then names the nodes where that walk starts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.graph import dependency_edges, producers, reachable
from pipeloop.engine.node import Node
from pipeloop.engine.transcoding import strip_transcoding

__all__ = ["nodes_to_resume_from", "resume_command"]


def _is_persisted(name: str, catalog: DataCatalog) -> bool:
    dataset = catalog.get(name)
    return dataset is not None and dataset.persistent


def nodes_to_resume_from(
    nodes: Iterable[Node], unfinished: Collection[Node], catalog: DataCatalog
) -> list[str]:
    """Names of the nodes that ``--from-nodes`` needs to finish the pipeline.

    ``--from-nodes`` re-runs its start nodes and everything downstream of them, so every
    node in that set must find its inputs: persisted, free, or produced again within the
    set. The walk grows the set upstream until that holds.

    Args:
        nodes: every node of the pipeline that ran.
        unfinished: nodes that did not complete (failed, cancelled, never started).
        catalog: the run's catalog, which says which datasets are persisted.

    Returns:
        Sorted node names; running the pipeline ``from_nodes`` these re-runs every unfinished
        node and each producer of in-memory data that the re-run needs.
    """
    nodes = list(nodes)
    producer = producers(nodes)  # by base name: ds@spark is made by the ds@pandas writer
    _, children = dependency_edges(nodes, producer)

    def lost_inputs_producers(node: Node) -> list[Node]:
        return [producer[strip_transcoding(name)] for name in node.inputs
                if strip_transcoding(name) in producer and not _is_persisted(name, catalog)]

    to_run = set(reachable(unfinished, lost_inputs_producers))
    while True:
        starts = {node for node in to_run
                  if not any(producer.get(strip_transcoding(name)) in to_run
                             for name in node.inputs)}
        rerun = reachable(starts, children.__getitem__)
        grown = set(reachable(rerun, lost_inputs_producers))
        if grown <= to_run:
            return sorted(node.name for node in starts)
        to_run |= grown


def resume_command(node_names: Iterable[str]) -> str:
    """The CLI argument that resumes a run: ``--from-nodes "a,b"``."""
    return f'--from-nodes "{",".join(node_names)}"'
