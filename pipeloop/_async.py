"""Calling user code that may be plain or ``async def``, without blocking the loop."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial
from typing import Any

import anyio.to_thread

__all__ = ["call_maybe_async", "is_async_callable"]


def is_async_callable(func: Callable[..., Any]) -> bool:
    """Whether calling ``func`` returns an awaitable: ``async def`` functions, partials of
    them, and objects with an ``async def __call__``."""
    while isinstance(func, partial):
        func = func.func
    return inspect.iscoroutinefunction(func) or inspect.iscoroutinefunction(
        getattr(func, "__call__", None)  # noqa: B004 - looking for an async __call__
    )


async def call_maybe_async(func: Callable[..., Any], *args: Any) -> Any:
    """Await ``func(*args)`` if it is async, else run it in a worker thread."""
    if is_async_callable(func):
        return await func(*args)
    return await anyio.to_thread.run_sync(partial(func, *args))
