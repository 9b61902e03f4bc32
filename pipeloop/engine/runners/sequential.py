"""``SequentialRunner``: one node at a time, in ``pipeline.nodes`` order."""

from __future__ import annotations

from typing import Any

from pipeloop.engine.inline import run_inline
from pipeloop.engine.node import Node
from pipeloop.engine.runners.base import AbstractRunner

__all__ = ["SequentialRunner"]


class SequentialRunner(AbstractRunner):
    """Runs one node at a time, plain functions inline on the event loop.

    The cheapest policy per node and the easiest to debug. A plain function blocks the
    event loop while it runs; inside an app whose other tasks must stay responsive, use
    ``ThreadRunner(max_workers=1)``: the same order, with the function in a worker thread.

    Args:
        is_async: load a node's inputs (and save its outputs) concurrently.
    """

    announces_async_io = True
    timeout_remark = (" It ran inline on the event loop and could not be stopped at the "
                      "deadline; ThreadRunner stops waiting for it on time.")

    @property
    def max_concurrent_nodes(self) -> int | None:
        return 1

    async def execute(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        # Inline, so ``pipeloop run``'s first Ctrl-C can interrupt the function at once.
        return await run_inline(node, inputs)
