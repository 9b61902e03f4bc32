"""What kind of callable a node wraps: its readable name, Kedro's default node name, its
signature (a partial's bound arguments left out), whether it is a generator, and whether two
callables are the same function.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["default_name", "func_name", "generator_kind", "same_function", "signature"]


def func_name(func: Callable[..., Any]) -> str:
    """A readable name: the function's (the wrapped function's, for a partial), or the type's
    for a callable object."""
    if isinstance(func, functools.partial):
        return func_name(func.func)
    name = getattr(func, "__name__", None)
    return name if name else type(func).__name__


def _own_name(func: Callable[..., Any]) -> str:
    """``func.__name__``, or its type's name for a callable object without one."""
    name = getattr(func, "__name__", None)
    return name if isinstance(name, str) and name else type(func).__name__


def default_name(func: Callable[..., Any], inputs: list[str], outputs: list[str]) -> str:
    """Kedro 1.x's name for an unnamed node, ``<function>__<8 hex digits>``, so that a Kedro
    user's ``--nodes`` and ``--from-nodes`` arguments still name the same nodes."""
    if isinstance(func, functools.partial):
        base = f"partial({_own_name(func.func)})"
        key = f"{base}|{inputs}|{outputs}"
    else:
        base = _own_name(func)
        module = getattr(func, "__module__", None) or type(func).__module__
        key = f"{module}.{base}|{inputs}|{outputs}"
    return f"{base}__{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def _unwrapped(func: Callable[..., Any]) -> Callable[..., Any]:
    while isinstance(func, functools.partial):
        func = func.func
    return func


def generator_kind(func: Callable[..., Any]) -> str | None:
    """``"sync"`` or ``"async"`` for generator functions (partials and callable objects
    included), ``None`` for anything else."""
    func = _unwrapped(func)
    for candidate in (func, getattr(func, "__call__", None)):  # noqa: B004 - the method
        if inspect.isasyncgenfunction(candidate):
            return "async"
        if inspect.isgeneratorfunction(candidate):
            return "sync"
    return None


def signature(func: Callable[..., Any]) -> inspect.Signature | None:
    """The signature the node's inputs bind to; ``None`` when it cannot be read.

    A partial's bound arguments leave its signature, even when ``functools.update_wrapper``
    gave it a ``__wrapped__`` pointing at the full function.
    """
    try:
        return inspect.signature(func, follow_wrapped=not isinstance(func, functools.partial))
    except (TypeError, ValueError):
        return None  # some builtins have no introspectable signature; trust the user


def same_function(first: Callable[..., Any], second: Callable[..., Any]) -> bool:
    """Whether two callables are the same function: the same object, or partials of the same
    function with the same bound arguments (a partial made twice is two objects)."""
    if first is second:
        return True
    if isinstance(first, functools.partial) and isinstance(second, functools.partial):
        return (same_function(first.func, second.func) and first.args == second.args
                and first.keywords == second.keywords)
    try:
        return bool(first == second)
    except Exception:  # an object whose __eq__ fails is not known to be the same
        return False
