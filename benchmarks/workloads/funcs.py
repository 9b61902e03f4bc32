"""Node functions shared by the workloads and both engines.

They live at module level so that process pools (pipeloop's and Kedro's ParallelRunner) can
pickle them by reference.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

__all__ = ["blob_from", "burn", "crunch_frame", "gather", "inc", "sleep_async", "sleep_sync",
           "split"]


def inc(x: int) -> int:
    """The trivial node: its cost is the engine's, not the function's."""
    return x + 1


def gather(*xs: Any) -> int:
    """The fan-in node."""
    return len(xs)


def sleep_sync(delay: float) -> float:
    """I/O-bound work that blocks its thread (a blocking client call)."""
    time.sleep(delay)
    return delay


async def sleep_async(delay: float) -> float:
    """The same wait as an ``async def`` node (an async client call)."""
    await asyncio.sleep(delay)
    return delay


def burn(iterations: int) -> int:
    """Pure-Python CPU work holding the GIL for the whole call."""
    total = 0
    for i in range(iterations):
        total = (total + i * i) % 1_000_003
    return total


def split(*xs: Any) -> list[Any]:
    """One node, many inputs and as many outputs (``slow-io``)."""
    return list(xs)


def blob_from(previous: bytes) -> bytes:
    """A new object as large as the previous one, every byte touched so it is resident."""
    fill = b"y" if previous[:1] == b"x" else b"x"
    return fill * len(previous)


def crunch_frame(frame: Any, iterations: int) -> list[Any]:
    """``big-data``'s branch: a new frame as large as the input, some CPU, a small summary."""
    result = frame * 1.0001
    burn(iterations)
    return [result, float(result.iat[0, 0])]


