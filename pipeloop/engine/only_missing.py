"""Only missing outputs: the part of a pipeline that makes persisted data not there yet.

Kedro 1.x's rules, walked from the last node back to the first:

1. a node with no outputs always runs;
2. a node runs when one of its *persisted* outputs does not exist (a name the catalog does
   not hold, or a ``MemoryDataset`` registered in it, is not persisted, so never "missing");
3. a node runs when a node that runs needs one of its outputs that is not persisted or does
   not exist.

Nodes downstream of a node that runs do not run for that reason alone: their outputs exist.
"""

from __future__ import annotations

import logging

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.node import Node
from pipeloop.engine.pipeline import Pipeline

__all__ = ["only_missing_outputs"]

logger = logging.getLogger("pipeloop.runner")


async def _available(names: set[str], catalog: DataCatalog) -> set[str]:
    """The names among ``names`` whose dataset is persisted and holds data."""
    found = set()
    for name in sorted(names):
        dataset = catalog.get(name)
        if dataset is not None and dataset.persistent and await dataset.exists():
            found.add(name)
    return found


def _missing_persisted(node: Node, catalog: DataCatalog, available: set[str]) -> bool:
    for name in node.outputs:
        dataset = catalog.get(name)
        if dataset is not None and dataset.persistent and name not in available:
            return True
    return False


async def only_missing_outputs(pipeline: Pipeline, catalog: DataCatalog) -> Pipeline:
    """The nodes of ``pipeline`` that must run to make its missing persisted outputs.

    Args:
        pipeline: the selected pipeline.
        catalog: the catalog, which says which outputs are persisted and exist.

    Returns:
        The nodes to run, possibly none, in a new pipeline.

    Raises:
        DatasetError: a dataset could not tell whether it exists.
    """
    available = await _available(pipeline.datasets(), catalog)
    consumers: dict[str, list[Node]] = {}
    for node in pipeline.nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)
    selected: set[Node] = set()
    for node in reversed(pipeline.nodes):
        needed = any(name not in available and any(c in selected for c in consumers.get(name, ()))
                     for name in node.outputs)
        if not node.outputs or _missing_persisted(node, catalog, available) or needed:
            selected.add(node)
    _log_selection(pipeline, selected)
    return Pipeline([node for node in pipeline.nodes if node in selected])


def _log_selection(pipeline: Pipeline, selected: set[Node]) -> None:
    total = len(pipeline.nodes)
    if not selected:
        logger.info("Skipping all %d nodes (all persistent outputs exist)", total)
        return
    skipped = sorted(node.name for node in pipeline.nodes if node not in selected)
    if skipped:
        logger.info("Skipping %d nodes with existing outputs: %s", len(skipped),
                    ", ".join(skipped))
    logger.info("Running %d out of %d nodes", len(selected), total)
