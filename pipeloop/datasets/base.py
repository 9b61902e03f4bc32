"""The dataset contract: async ``load``/``save``/``exists``/``release``.

A subclass says how data moves in either of the two ways Kedro documents:

- Kedro ≥ 0.19's public methods: ``load()``, ``save(data)`` and ``_describe()``
  (optionally ``exists()`` and ``release()``);
- the ``_load``/``_save``/``_describe`` hooks (optionally ``_exists`` and ``_release``),
  the older style.

Each may be a plain method — pipeloop then runs it in a worker thread, so a blocking read
never stalls the event loop — or an ``async def`` method, which is awaited directly. Either
way, what a catalog or runner awaits is an async public method that adds what every dataset
needs: errors that name the dataset, no double wrapping of pipeloop's own errors, and no
saving of ``None``. As in Kedro, a ``_load`` hook wins over a plain public ``load`` defined
beside it or inherited; an ``async def load`` overrides pipeloop's own method instead (it may
``await super().load()``, which reaches the hooks), and always stays. A plain public method
that calls ``super().load()`` gets a coroutine: make it ``async def`` and await it.

A class is looked at once, when it is defined (``__init_subclass__``):
its own public methods are wrapped, and which hooks are async is decided there, because
loads and saves are on the hot path. A hook set on one instance (``self._save = fn``: plain,
``async def``, or a ``functools.partial``) is looked at when it is called.
"""

from __future__ import annotations

import abc
import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, ClassVar

import anyio.to_thread

from pipeloop._async import is_async_callable
from pipeloop.errors import DatasetError

__all__ = ["AbstractDataset", "call_maybe_async"]


_OPERATIONS = ("load", "save", "exists", "release")
_HOOKS = tuple(f"_{operation}" for operation in _OPERATIONS)
_FAILED = {
    "load": "Failed while loading data from dataset {}.",
    "save": "Failed while saving data to dataset {}.",
    "exists": "Failed during exists check for dataset {}.",
    "release": "Failed during release for dataset {}.",
}
# Marks the async methods made from a class's own public ones, so none is wrapped twice.
_WRAPS = "__pipeloop_wraps__"


# Plain operations that only read: cancelling the caller (a node's timeout, a deadline, a
# Ctrl-C) stops waiting for their thread at once, so a load blocked on a FIFO or a stale
# mount holds nobody up; the thread's result is dropped when it comes. Saves are waited
# for: an abandoned save would still publish its file after the run stopped.
_ABANDONED_ON_CANCEL = frozenset({"load", "exists", "_load", "_exists"})


async def _invoke(func: Callable[..., Any], is_async: bool, *args: Any,
                  abandon_on_cancel: bool = False) -> Any:
    """Await ``func(*args)``, or run it in a worker thread when it is plain."""
    if is_async:
        return await func(*args)
    result = await anyio.to_thread.run_sync(functools.partial(func, *args),
                                            abandon_on_cancel=abandon_on_cancel)
    if inspect.iscoroutine(result):  # a plain callable that handed back a coroutine
        result = await result
    return result


async def call_maybe_async(func: Callable[..., Any], *args: Any) -> Any:
    """Await ``func(*args)`` when ``func`` is async (``async def``, a partial of one, an
    object with an ``async def __call__``), else run it in a worker thread and await the
    coroutine it hands back, if any: user code that returns a coroutine is never dropped."""
    return await _invoke(func, is_async_callable(func), *args)


def _failure(operation: str, dataset: AbstractDataset, exc: Exception) -> DatasetError:
    return DatasetError(f"{_FAILED[operation].format(dataset)}\n{exc}")


def _refuse_none(dataset: AbstractDataset) -> DatasetError:
    return DatasetError(f"Saving 'None' to a dataset is not allowed: {dataset}")


def _wrap_public(operation: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """The async method that stands for a class's own public ``operation`` method."""
    is_async = inspect.iscoroutinefunction(func)
    abandon = operation in _ABANDONED_ON_CANCEL

    @functools.wraps(func)
    async def method(self: AbstractDataset, *args: Any) -> Any:
        if operation == "save" and args and args[0] is None:
            raise _refuse_none(self)
        try:
            result = await _invoke(func, is_async, self, *args, abandon_on_cancel=abandon)
        except DatasetError:
            raise
        except Exception as exc:
            raise _failure(operation, self, exc) from exc
        if operation == "exists":
            return bool(result)
        return result if operation == "load" else None

    setattr(method, _WRAPS, func)
    return method


def _public_only(operation: str) -> Callable[..., Any]:
    """The ``_<operation>`` hook of a class that implements the public method instead: it
    makes the class concrete, and says what went wrong if anything reaches it (only
    ``AbstractDataset.<operation>`` would, through ``super()``)."""

    def hook(self: AbstractDataset, *args: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} implements '{operation}' itself; AbstractDataset has "
            f"no '{operation}' to fall back on."
        )

    hook.__name__ = hook.__qualname__ = f"_{operation}"
    return hook


class AbstractDataset(abc.ABC):
    """Base class of every dataset: where one piece of data lives and how to move it.

    Attributes:
        persistent: ``True`` when data saved here outlives the process (files, databases).
            A run's resume advice starts from nodes whose inputs are persistent.
        instant: ``True`` when loads and saves never wait (the data is in this process);
            the scheduler then moves such data in line rather than in concurrent tasks. A
            subclass of an instant dataset that overrides a hook with a plain method (run in
            a worker thread, so it waits) is not instant unless it sets ``instant`` itself.

    Example:
        A dataset written the way Kedro ≥ 0.19 documents it::

            class MyOwnDataset(AbstractDataset):
                def __init__(self, filepath: str) -> None:
                    self._filepath = filepath

                def load(self) -> str:
                    return Path(self._filepath).read_text()

                def save(self, data: str) -> None:
                    Path(self._filepath).write_text(data)

                def _describe(self) -> dict[str, Any]:
                    return {"filepath": self._filepath}

        ``await MyOwnDataset("a.txt").load()`` reads the file in a worker thread.
    """

    persistent: ClassVar[bool] = True
    instant: ClassVar[bool] = False
    _async_hooks: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = {name: cls.__dict__[name] for name in (*_OPERATIONS, *_HOOKS)
               if name in cls.__dict__}
        for operation in _OPERATIONS:
            hook = f"_{operation}"
            public = own.get(operation)
            if hook in own and not inspect.iscoroutinefunction(public):
                # As in Kedro, a class's own hook wins over a plain public method, its own or
                # an inherited one. An ``async def`` one overrides pipeloop's own method (it
                # may await ``super().load()``, which reaches the hook), so it stays.
                inherited = getattr(getattr(cls, operation), _WRAPS, None)
                if public is not None or (
                    inherited is not None and not inspect.iscoroutinefunction(inherited)
                ):
                    setattr(cls, operation, getattr(AbstractDataset, operation))
            elif public is not None and not hasattr(public, _WRAPS):
                setattr(cls, operation, _wrap_public(operation, public))
                if getattr(getattr(cls, hook), "__isabstractmethod__", False):
                    setattr(cls, hook, _public_only(operation))
        if cls.instant and "instant" not in cls.__dict__ and not all(
            map(inspect.iscoroutinefunction, own.values())
        ):
            cls.instant = False
        cls._async_hooks = frozenset(
            name for name in _HOOKS if inspect.iscoroutinefunction(getattr(cls, name))
        )

    async def load(self) -> Any:
        """Load the data.

        Raises:
            DatasetError: the load failed; the message names this dataset.
        """
        try:
            return await self._call_hook("_load")
        except DatasetError:
            raise
        except Exception as exc:
            raise _failure("load", self, exc) from exc

    async def save(self, data: Any) -> None:
        """Save ``data``.

        Raises:
            DatasetError: ``data`` is ``None``, or the save failed; the message names this
                dataset.
        """
        if data is None:
            raise _refuse_none(self)
        try:
            await self._call_hook("_save", data)
        except DatasetError:
            raise
        except Exception as exc:
            raise _failure("save", self, exc) from exc

    async def exists(self) -> bool:
        """Whether data is there to load (``False`` when the dataset cannot tell)."""
        try:
            return bool(await self._call_hook("_exists"))
        except DatasetError:
            raise
        except Exception as exc:
            raise _failure("exists", self, exc) from exc

    async def release(self) -> None:
        """Drop any data this dataset keeps in memory (caches, held values)."""
        try:
            await self._call_hook("_release")
        except DatasetError:
            raise
        except Exception as exc:
            raise _failure("release", self, exc) from exc

    async def _call_hook(self, name: str, *args: Any) -> Any:
        hook = getattr(self, name)
        if name in self.__dict__:  # set on this instance: look at it now
            return await _invoke(hook, is_async_callable(hook), *args,
                                 abandon_on_cancel=name in _ABANDONED_ON_CANCEL)
        if name in self._async_hooks:  # the hot path (memory datasets): no extra frame
            return await hook(*args)
        return await _invoke(hook, False, *args,
                             abandon_on_cancel=name in _ABANDONED_ON_CANCEL)

    @property
    def _logger(self) -> logging.Logger:
        """The logger of the dataset's module (Kedro datasets log through ``_logger``)."""
        return logging.getLogger(type(self).__module__)

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
