"""``DryRunner``: lists what a run would do and runs nothing — the model custom runner."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.hooks import HookManager
from pipeloop.engine.node import Node
from pipeloop.engine.runners.base import AbstractRunner

if TYPE_CHECKING:
    from pipeloop.engine.pipeline import Pipeline

__all__ = ["DryRunner"]

logger = logging.getLogger("pipeloop.runner")


class DryRunner(AbstractRunner):
    """Logs the nodes a run would execute, in order, and executes none of them.

    A custom runner in a dozen lines: it overrides ``_run`` whole instead of a policy hook.
    Useful to check what ``--from-nodes``/``--tags`` filters select before a long run.
    ``run`` returns ``{}``, since nothing produced any output; ``planned`` holds the node
    names of the last run.
    """

    def __init__(self, *, is_async: bool = True) -> None:
        super().__init__(is_async=is_async)
        self.planned: list[str] = []

    async def _run(
        self,
        pipeline: Pipeline,
        catalog: DataCatalog,
        *,
        hooks: HookManager,
        run_id: str | None,
        keep_going: bool = False,
    ) -> None:
        self.planned = [node.name for node in pipeline.nodes]
        logger.info("Actual run would execute %d nodes:\n%s", len(self.planned),
                    "\n".join(str(node) for node in pipeline.nodes))

    async def _collect_outputs(
        self, pipeline: Pipeline, catalog: DataCatalog, run_catalog: DataCatalog
    ) -> dict[str, Any]:
        return {}  # nothing ran, so nothing was produced

    async def _execute_sync(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError("DryRunner executes nothing")  # pragma: no cover
