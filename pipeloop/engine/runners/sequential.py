"""``SequentialRunner``: one node at a time, in ``pipeline.nodes`` order."""

from __future__ import annotations

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

    # execute: AbstractRunner's, inline on the loop, interruptible by pipeloop run's Ctrl-C.
