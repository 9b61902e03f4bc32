"""The dataset contract: async ``load``/``save``/``exists``/``release`` over ``_`` hooks.

A subclass implements ``_load``, ``_save`` and ``_describe`` (optionally ``_exists`` and
``_release``). Each hook may be a plain method — pipeloop then runs it in a worker thread, so
a blocking read never stalls the event loop — or an ``async def`` method, which is awaited
directly. The public methods add what every dataset needs: errors that name the dataset,
and no double wrapping of pipeloop's own errors.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import anyio.to_thread

from pipeloop._async import call_maybe_async as call_maybe_async
from pipeloop.errors import DatasetError

__all__ = ["AbstractDataset"]


_HOOKS = ("_load", "_save", "_exists", "_release")


class AbstractDataset(abc.ABC):
    """Base class of every dataset: where one piece of data lives and how to move it.

    Attributes:
        persistent: ``True`` when data saved here outlives the process (files, databases).
            A run's resume advice starts from nodes whose inputs are persistent.
        instant: ``True`` when loads and saves never wait (the data is in this process);
            the scheduler then moves such data in line rather than in concurrent tasks.
    """

    persistent: ClassVar[bool] = True
    instant: ClassVar[bool] = False
    _async_hooks: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Decided once per class, not per call: loads and saves are on the hot path.
        cls._async_hooks = frozenset(
            name for name in _HOOKS if inspect.iscoroutinefunction(getattr(cls, name))
        )

    async def load(self) -> Any:
        """Load the data.

        Raises:
            DatasetError: the load failed; the message names this dataset.
        """
        try:
            return await self._call_hook(self._load)
        except DatasetError:
            raise
        except Exception as exc:
            raise DatasetError(f"Failed while loading data from dataset {self}.\n{exc}") from exc

    async def save(self, data: Any) -> None:
        """Save ``data``.

        Raises:
            DatasetError: ``data`` is ``None``, or the save failed; the message names this
                dataset.
        """
        if data is None:
            raise DatasetError(f"Saving 'None' to a dataset is not allowed: {self}")
        try:
            await self._call_hook(self._save, data)
        except DatasetError:
            raise
        except Exception as exc:
            raise DatasetError(f"Failed while saving data to dataset {self}.\n{exc}") from exc

    async def exists(self) -> bool:
        """Whether data is there to load (``False`` when the dataset cannot tell)."""
        try:
            return bool(await self._call_hook(self._exists))
        except DatasetError:
            raise
        except Exception as exc:
            raise DatasetError(
                f"Failed during exists check for dataset {self}.\n{exc}"
            ) from exc

    async def release(self) -> None:
        """Drop any data this dataset keeps in memory (caches, held values)."""
        try:
            await self._call_hook(self._release)
        except DatasetError:
            raise
        except Exception as exc:
            raise DatasetError(f"Failed during release for dataset {self}.\n{exc}") from exc

    async def _call_hook(self, hook: Callable[..., Any], *args: Any) -> Any:
        if hook.__name__ in self._async_hooks:
            return await hook(*args)
        return await anyio.to_thread.run_sync(partial(hook, *args))

    @abc.abstractmethod
    def _load(self) -> Any:
        """Return the data (plain or ``async def``)."""

    @abc.abstractmethod
    def _save(self, data: Any) -> Any:
        """Store ``data`` (plain or ``async def``)."""

    @abc.abstractmethod
    def _describe(self) -> dict[str, Any]:
        """The arguments that identify this dataset, shown in ``repr`` and logs."""

    async def _exists(self) -> Any:
        """Whether data is there (plain or ``async def``); ``False`` unless overridden."""
        return False

    async def _release(self) -> Any:
        """Drop held data (plain or ``async def``); nothing unless overridden."""
        return None

    def __repr__(self) -> str:
        try:
            described = self._describe()
        except Exception:  # a broken _describe must not hide the error being reported
            return f"{type(self).__name__}(<describe failed>)"
        args = ", ".join(f"{key}={value!r}" for key, value in described.items()
                         if value is not None)
        return f"{type(self).__name__}({args})"

    __str__ = __repr__
