"""``DryRunner``: lists what a run would do and runs nothing — the model custom runner."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.runners.base import AbstractRunner

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["DryRunner"]


class DryRunner(AbstractRunner):
    """Logs the nodes a run would execute, in order, and executes none of them.

    A custom runner the way Kedro's guide writes one: it overrides ``_run`` whole instead of
    the policy seam. Useful to check what ``--from-nodes``/``--tags`` filters select before a
    long run. ``run`` returns ``{}``, since nothing produced any output; ``planned`` holds
    the node names of the last run.
    """

    def __init__(self, *, is_async: bool = True) -> None:
        super().__init__(is_async=is_async)
        self.planned: list[str] = []

    def _run(self, pipeline: Pipeline, catalog: DataCatalog) -> None:  # type: ignore[override]
        nodes = pipeline.nodes
        self.planned = [node.name for node in nodes]
        self._logger.info("Actual run would execute %d nodes:\n%s", len(nodes),
                          "\n".join(str(node) for node in nodes))
