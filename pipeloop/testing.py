"""Helpers for testing pipelines: hooks that record, datasets that are slow or count.

Made for pipeloop's own tests and for users testing their pipelines::

    from pipeloop.testing import CountingDataset, RecordingHooks, SlowDataset

    hooks = RecordingHooks()
    catalog = DataCatalog({"xs": CountingDataset([1, 2, 3])})
    await SequentialRunner().run(pipeline, catalog, hooks=[hooks])
    assert hooks.names[0] == "before_pipeline_run"
    assert catalog["xs"].loads == 1

Every dataset here keeps its data in memory (they are ``MemoryDataset`` subclasses, so
``persistent`` is ``False``) and implements its hooks as ``async def``, so they run on the
event loop and never take a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import anyio

from pipeloop.datasets.memory import CopyMode, MemoryDataset

__all__ = ["CountingDataset", "HookCall", "RecordingHooks", "SlowDataset"]

_NOTHING: Any = object()


@dataclass(frozen=True)
class HookCall:
    """One recorded hook call: the hook's name and the keyword arguments it received."""

    name: str
    kwargs: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str | None:
        """What the call is about: the dataset name for dataset hooks, the node's name for
        node hooks, ``None`` for pipeline hooks."""
        if "dataset_name" in self.kwargs:
            return str(self.kwargs["dataset_name"])
        node = self.kwargs.get("node")
        return None if node is None else str(node.name)

    def __str__(self) -> str:
        subject = self.subject
        return self.name if subject is None else f"{self.name}:{subject}"


class RecordingHooks:
    """Hooks that record every call, in order, with all of its keyword arguments.

    Pass an instance in ``run(..., hooks=[hooks])``, then inspect :attr:`calls`,
    :attr:`names` or :meth:`trace`. Every hook method is plain (not ``async def``) and
    returns ``None``, so recording changes nothing about the run.
    """

    def __init__(self) -> None:
        self.calls: list[HookCall] = []

    @property
    def names(self) -> list[str]:
        """The names of the hooks called, in order."""
        return [call.name for call in self.calls]

    def named(self, name: str) -> list[HookCall]:
        """The recorded calls of hook ``name``, in order."""
        return [call for call in self.calls if call.name == name]

    def trace(self) -> list[str]:
        """Each call as ``"hook_name"`` or ``"hook_name:subject"`` (the node or dataset)."""
        return [str(call) for call in self.calls]

    def _record(self, name: str, kwargs: dict[str, Any]) -> None:
        self.calls.append(HookCall(name, kwargs))

    def before_pipeline_run(self, **kwargs: Any) -> None:
        self._record("before_pipeline_run", kwargs)

    def after_pipeline_run(self, **kwargs: Any) -> None:
        self._record("after_pipeline_run", kwargs)

    def on_pipeline_error(self, **kwargs: Any) -> None:
        self._record("on_pipeline_error", kwargs)

    def before_node_run(self, **kwargs: Any) -> None:
        self._record("before_node_run", kwargs)

    def after_node_run(self, **kwargs: Any) -> None:
        self._record("after_node_run", kwargs)

    def on_node_error(self, **kwargs: Any) -> None:
        self._record("on_node_error", kwargs)

    def before_dataset_loaded(self, **kwargs: Any) -> None:
        self._record("before_dataset_loaded", kwargs)

    def after_dataset_loaded(self, **kwargs: Any) -> None:
        self._record("after_dataset_loaded", kwargs)

    def before_dataset_saved(self, **kwargs: Any) -> None:
        self._record("before_dataset_saved", kwargs)

    def after_dataset_saved(self, **kwargs: Any) -> None:
        self._record("after_dataset_saved", kwargs)


class SlowDataset(MemoryDataset):
    """A memory dataset whose ``load`` and ``save`` each take ``delay`` seconds.

    The delay is an ``await anyio.sleep``, so the event loop stays free: several slow
    loads awaited concurrently take ``delay`` in all, not ``delay`` each. Each operation
    appends ``(label, "load-start")``, ``(label, "load-end")`` (or ``save-...``) to
    :attr:`events`; pass one shared list to several datasets to see how their operations
    interleave.

    Args:
        data: initial data; omit it for an empty dataset.
        delay: seconds each load and each save takes.
        label: the name used in :attr:`events` (default ``"slow"``).
        events: the list to record into (default: a new list).
        copy_mode: as for ``MemoryDataset``.
    """

    instant: ClassVar[bool] = False  # its loads and saves wait, so the scheduler overlaps them

    def __init__(
        self,
        data: Any = _NOTHING,
        delay: float = 0.1,
        *,
        label: str = "slow",
        events: list[tuple[str, str]] | None = None,
        copy_mode: CopyMode | None = None,
    ) -> None:
        if data is _NOTHING:
            super().__init__(copy_mode=copy_mode)
        else:
            super().__init__(data, copy_mode=copy_mode)
        self.delay = delay
        self.label = label
        self.events: list[tuple[str, str]] = [] if events is None else events

    async def _load(self) -> Any:
        self.events.append((self.label, "load-start"))
        await anyio.sleep(self.delay)
        data = await super()._load()
        self.events.append((self.label, "load-end"))
        return data

    async def _save(self, data: Any) -> None:
        self.events.append((self.label, "save-start"))
        await anyio.sleep(self.delay)
        await super()._save(data)
        self.events.append((self.label, "save-end"))

    def __repr__(self) -> str:
        return f"SlowDataset(label={self.label!r}, delay={self.delay!r})"

    __str__ = __repr__


class CountingDataset(MemoryDataset):
    """A memory dataset that counts its loads, saves and releases.

    Args:
        data: initial data; omit it for an empty dataset.
        copy_mode: as for ``MemoryDataset``.

    Attributes:
        loads: successful and failed ``load`` calls.
        saves: ``save`` calls that reached the dataset.
        releases: ``release`` calls.
    """

    def __init__(self, data: Any = _NOTHING, copy_mode: CopyMode | None = None) -> None:
        if data is _NOTHING:
            super().__init__(copy_mode=copy_mode)
        else:
            super().__init__(data, copy_mode=copy_mode)
        self.loads = 0
        self.saves = 0
        self.releases = 0

    async def _load(self) -> Any:
        self.loads += 1
        return await super()._load()

    async def _save(self, data: Any) -> None:
        self.saves += 1
        await super()._save(data)

    async def _release(self) -> None:
        self.releases += 1
        await super()._release()

    def __repr__(self) -> str:
        return f"CountingDataset(loads={self.loads}, saves={self.saves})"

    __str__ = __repr__
