"""Run hooks: user objects told about each stage of a run.

A hook object has any of the methods in :data:`HOOK_NAMES` (Kedro's ten, and pipeloop's
``on_node_start`` / ``on_node_end``), plain or ``async def``. Each method receives, as keyword
arguments, only those of the stage's arguments it declares — so a hook can take just what it
uses, as with Kedro's ``pluggy`` hooks. Classes written for Kedro, with ``@hook_impl``
decorators, work unchanged: the decorator only marks the method.

Most hooks only *observe* a run (a progress bar, a tracker). An observer that raises is
logged once, with its traceback, and not called again in that run: a broken progress bar
never fails a node. ``before_node_run`` is different, since it may replace a node's inputs:
when it raises, the node fails.

``on_node_start(node)`` fires when a node begins (its first load, or its function when it
reads nothing); ``on_node_end(node, error, state)`` when its last output is saved or it
failed (``error`` is then the node's exception).
"""

from __future__ import annotations

import inspect
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeloop._async import is_async_callable

__all__ = ["HOOK_NAMES", "HookManager", "hook_impl"]

logger = logging.getLogger("pipeloop.hooks")

HOOK_NAMES = (
    "before_pipeline_run",
    "after_pipeline_run",
    "on_pipeline_error",
    "before_node_run",
    "after_node_run",
    "on_node_error",
    "before_dataset_loaded",
    "after_dataset_loaded",
    "before_dataset_saved",
    "after_dataset_saved",
    "on_node_start",
    "on_node_end",
)

#: Hooks whose failure fails what they hook into; every other hook only observes.
_DECIDING = frozenset({"before_node_run"})


@dataclass(frozen=True, slots=True, eq=False)
class _Implementation:
    func: Callable[..., Any]
    accepted: frozenset[str] | None  # None: takes **kwargs, so everything
    is_async: bool

    @classmethod
    def of(cls, func: Callable[..., Any]) -> _Implementation:
        # A hook object's methods are looked at once per class, not once per run:
        # inspect.signature costs more than a short run's whole scheduling.
        function = getattr(func, "__func__", None) if inspect.ismethod(func) else None
        found = _SHAPES.get(function) if function is not None else None
        if found is None:
            found = _shape(func)
            if function is not None:
                _SHAPES[function] = found
        return cls(func, *found)

    async def __call__(self, arguments: dict[str, Any]) -> Any:
        if self.accepted is not None:
            arguments = {k: v for k, v in arguments.items() if k in self.accepted}
        result = self.func(**arguments)
        return await result if self.is_async else result


#: A method's function -> what ``_shape`` found for it (its bound methods share it).
_SHAPES: weakref.WeakKeyDictionary[Any, tuple[frozenset[str] | None, bool]] = (
    weakref.WeakKeyDictionary())


def _shape(func: Callable[..., Any]) -> tuple[frozenset[str] | None, bool]:
    """The keyword arguments ``func`` accepts (``None``: any) and whether it is async."""
    parameters = inspect.signature(func).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        accepted = None
    else:
        accepted = frozenset(p.name for p in parameters)
    return accepted, is_async_callable(func)


class HookManager:
    """Calls every registered implementation of a hook, in registration order.

    Args:
        hooks: objects with hook methods; unknown method names are ignored, so one object
            can serve other purposes too.
    """

    def __init__(self, hooks: Iterable[object] = ()) -> None:
        self._implementations: dict[str, list[_Implementation]] = {}
        self._disabled: set[_Implementation] = set()
        for hook in hooks:
            for name in HOOK_NAMES:
                method = getattr(hook, name, None)
                if callable(method):
                    self._implementations.setdefault(name, []).append(_Implementation.of(method))

    def __contains__(self, name: str) -> bool:
        """Whether any hook implements ``name`` (lets hot paths skip building arguments)."""
        return name in self._implementations

    async def call(self, name: str, **arguments: Any) -> list[Any]:
        """Call every implementation of hook ``name``; return their results in order.

        Raises:
            Exception: a ``before_node_run`` implementation's own error. Any other hook that
                raises is logged once and disabled for the rest of the run instead.
        """
        implementations = self._implementations.get(name, ())
        if name in _DECIDING:
            return [await impl(arguments) for impl in implementations]
        results = []
        for impl in implementations:
            if impl in self._disabled:
                continue
            try:
                results.append(await impl(arguments))
            except Exception:
                self._disable(name, impl)
        return results

    def _disable(self, name: str, impl: _Implementation) -> None:
        self._disabled.add(impl)
        logger.exception("Hook %s raised; it is disabled for the rest of this run (the run "
                         "goes on).", _describe(impl.func, name))
        if all(other in self._disabled for other in self._implementations[name]):
            del self._implementations[name]  # lets hot paths skip the hook again


def _describe(func: Callable[..., Any], name: str) -> str:
    owner = getattr(func, "__self__", None)
    return f"{type(owner).__qualname__}.{name}" if owner is not None else name


def hook_impl(func: Callable[..., Any] | None = None, **options: Any) -> Any:
    """Kedro's ``@hook_impl`` marker, so hook classes written for Kedro import unchanged.

    pipeloop finds hooks by method name, so the marker only records that the method is a
    hook (and pluggy's options, such as ``tryfirst``, which pipeloop does not order by).
    Works bare (``@hook_impl``) and called (``@hook_impl(tryfirst=True)``).
    """

    def mark(method: Callable[..., Any]) -> Callable[..., Any]:
        method.pipeloop_hook_impl = dict(options)  # type: ignore[attr-defined]
        return method

    return mark(func) if func is not None else mark
