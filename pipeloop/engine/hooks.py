"""Run hooks: user objects told about each stage of a run.

A hook object has any of the methods in :data:`HOOK_NAMES` (Kedro's names), plain or
``async def``. Each method receives, as keyword arguments, only those of the stage's arguments
it declares — so a hook can take just what it uses, as with Kedro's ``pluggy`` hooks.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from pipeloop._async import is_async_callable

__all__ = ["HOOK_NAMES", "HookManager"]

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
)


@dataclass(frozen=True, slots=True)
class _Implementation:
    func: Callable[..., Any]
    accepted: frozenset[str] | None  # None: takes **kwargs, so everything
    is_async: bool

    @classmethod
    def of(cls, func: Callable[..., Any]) -> _Implementation:
        parameters = inspect.signature(func).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            accepted = None
        else:
            accepted = frozenset(p.name for p in parameters)
        return cls(func, accepted, is_async_callable(func))

    async def __call__(self, arguments: dict[str, Any]) -> Any:
        if self.accepted is not None:
            arguments = {k: v for k, v in arguments.items() if k in self.accepted}
        result = self.func(**arguments)
        return await result if self.is_async else result


class HookManager:
    """Calls every registered implementation of a hook, in registration order.

    Args:
        hooks: objects with hook methods; unknown method names are ignored, so one object
            can serve other purposes too.
    """

    def __init__(self, hooks: Iterable[object] = ()) -> None:
        self._implementations: dict[str, list[_Implementation]] = {}
        for hook in hooks:
            for name in HOOK_NAMES:
                method = getattr(hook, name, None)
                if callable(method):
                    self._implementations.setdefault(name, []).append(_Implementation.of(method))

    def __contains__(self, name: str) -> bool:
        """Whether any hook implements ``name`` (lets hot paths skip building arguments)."""
        return name in self._implementations

    async def call(self, name: str, **arguments: Any) -> list[Any]:
        """Call every implementation of hook ``name``; return their results in order."""
        return [await impl(arguments) for impl in self._implementations.get(name, ())]
