"""``ThreadRunner``: plain functions in worker threads, the event loop always free."""

from __future__ import annotations

import os
from functools import partial
from typing import Any

import anyio
import anyio.to_thread

from pipeloop.engine.node import Node
from pipeloop.engine.runners.base import AbstractRunner, limiter_for
from pipeloop.errors import RunnerError

__all__ = ["ThreadRunner"]


class ThreadRunner(AbstractRunner):
    """Runs every ready node at once; plain functions in a pool of worker threads.

    ``async def`` nodes are awaited on the loop and take no thread, so a thousand of them
    waiting on I/O finish together. A running thread cannot be interrupted: when a run
    fails, times out or is cancelled, it returns at once and any function still running in
    a thread finishes in the background, its result discarded.

    Args:
        max_workers: worker threads for plain functions (default ``min(32, cpus + 4)``,
            like ``concurrent.futures``).
        is_async: load a node's inputs (and save its outputs) concurrently.

    Raises:
        RunnerError: ``max_workers`` is not a positive integer.
    """

    timeout_remark = " Its thread cannot be interrupted and finishes in the background."

    def __init__(self, max_workers: int | None = None, *, is_async: bool = True) -> None:
        super().__init__(is_async=is_async)
        if max_workers is not None and max_workers < 1:
            raise RunnerError(f"ThreadRunner: max_workers must be >= 1, not {max_workers}.")
        self.max_workers = max_workers or min(32, (os.cpu_count() or 1) + 4)

    @property
    def max_concurrent_nodes(self) -> int | None:
        """One node at a time with one worker (``SequentialRunner``'s order without blocking
        the loop); otherwise every ready node at once."""
        return 1 if self.max_workers == 1 else None

    async def _execute_sync(self, node: Node, inputs: dict[str, Any]) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(
            partial(node.run, inputs), abandon_on_cancel=True,
            limiter=limiter_for(self, self.max_workers),
        )

    def __repr__(self) -> str:
        return f"ThreadRunner(max_workers={self.max_workers}, is_async={self.is_async})"
