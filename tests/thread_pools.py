"""For tests that count threads: the thread pools a run may use, and how big each may grow.

A pool tops up when runs overlap (more so on a loaded machine) but never beyond its cap;
a thread outside these pools that outlives a run is a leak.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any

import anyio.to_thread

__all__ = ["own_pool_size", "thread_pool_caps", "threads_by_pool"]


def own_pool_size(runner: Any) -> int:
    """Threads of a ThreadRunner's own pool (named ``pipeloop-thread*``): they live as long
    as the runner, by design. Other runners have none."""
    return int(runner.max_workers) if type(runner).__name__ == "ThreadRunner" else 0


def thread_pool_caps(runner: Any) -> dict[str, int]:
    """The pools a run of ``runner`` may use, by the prefix of their threads' names, and how
    many threads each may hold: the runner's own, anyio's worker threads (dataset I/O), and
    the event loop's default executor (aiofiles). Call it inside the event loop."""
    return {
        "pipeloop-thread": own_pool_size(runner),
        "AnyIO worker thread": int(anyio.to_thread.current_default_thread_limiter().total_tokens),
        "asyncio_": min(32, (os.cpu_count() or 1) + 4),
    }


def threads_by_pool(caps: dict[str, int]) -> Counter[str]:
    """How many live threads belong to each pool of ``caps``; the rest count as "other"."""
    return Counter(
        next((prefix for prefix in caps if thread.name.startswith(prefix)), "other")
        for thread in threading.enumerate()
    )
