"""``--only-missing-outputs``: skip the nodes whose persisted outputs already exist.

A node runs when any output it writes to the catalog does not exist yet (or is not persisted),
when it has no outputs at all, or when it produces a free output that ``run`` returns. Every
node downstream of one that runs runs too, since its inputs are about to change. Finally the
producers of data those nodes need but that does not exist on disk (in-memory intermediates)
run as well, back to the nearest persisted data.
"""

from __future__ import annotations

import logging

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.node import Node
from pipeloop.engine.pipeline import Pipeline

__all__ = ["only_missing_outputs"]

logger = logging.getLogger("pipeloop.cli")


async def _existing(names: set[str], catalog: DataCatalog) -> set[str]:
    """The names among ``names`` whose dataset is persisted and holds data."""
    found = set()
    for name in sorted(names):
        dataset = catalog.get(name)
        if dataset is not None and dataset.persistent and await dataset.exists():
            found.add(name)
    return found


def _must_run(node: Node, existing: set[str], catalog: DataCatalog, free: set[str]) -> bool:
    if not node.outputs:
        return True
    return any(name not in existing and (name in catalog or name in free)
               for name in node.outputs)


async def only_missing_outputs(pipeline: Pipeline, catalog: DataCatalog) -> Pipeline:
    """The part of ``pipeline`` needed to make the outputs that do not exist yet.

    Args:
        pipeline: the pipeline the command selected.
        catalog: the run's catalog, which says which outputs exist.

    Returns:
        The nodes to run, possibly none.

    Raises:
        DatasetError: a dataset could not tell whether it exists.
    """
    existing = await _existing(pipeline.datasets(), catalog)
    free = pipeline.outputs()
    starts = [node.name for node in pipeline.nodes
              if _must_run(node, existing, catalog, free)]
    selected = set(pipeline.from_nodes(*starts).nodes) if starts else set()
    stack = list(selected)
    while stack:
        for name in stack.pop().inputs:
            producer = pipeline.producer(name)
            if producer is not None and name not in existing and producer not in selected:
                selected.add(producer)
                stack.append(producer)
    skipped = [node.name for node in pipeline.nodes if node not in selected]
    if skipped:
        logger.info("Skipping %d node(s) whose outputs already exist: %s",
                    len(skipped), ", ".join(skipped))
    return Pipeline(node for node in pipeline.nodes if node in selected)
