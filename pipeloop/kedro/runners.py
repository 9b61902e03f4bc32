"""Kedro runners whose scheduler is pipeloop's.

``kedro run --runner=pipeloop.kedro.ThreadRunner`` loads the class by its path and makes it
with Kedro's keyword arguments (always ``is_async``, plus ``--runner-params``); Kedro's
session then calls ``runner.run(pipeline, catalog, hook_manager, run_id=...,
only_missing_outputs=...)``. These classes subclass Kedro's ``AbstractRunner`` and keep its
``run`` (the input checks, ``--only-missing-outputs``, the returned dict of output name to
Kedro dataset); only ``_run``, the execution, is pipeloop's: the Kedro pipeline, catalog
and hook manager are translated (:mod:`pipeloop.kedro.pipelines`,
:mod:`pipeloop.kedro.catalog`, :mod:`pipeloop.kedro.hooks`) and run by one of pipeloop's
runners, which loads a node's inputs and saves its outputs concurrently.

Kedro's ``is_async`` is accepted for its CLI, which always passes it (``False`` unless
``--async``): it does not turn concurrent loading off, since Kedro passes ``False`` by
default rather than by a user's choice. ``concurrent_io=False`` (``--runner-params
concurrent_io=False``) moves one dataset at a time instead; Kedro's hooks are told which
(their ``is_async`` argument).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, cast

import anyio

import pipeloop
from pipeloop.kedro.catalog import translate_catalog
from pipeloop.kedro.hooks import KedroHookRelay
from pipeloop.kedro.pipelines import translate_pipeline

try:
    from kedro.framework.hooks.manager import _NullPluginManager
    from kedro.runner import AbstractRunner as KedroAbstractRunner
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "pipeloop.kedro needs Kedro 1.x: pip install 'pipeloop[kedro]'"
    ) from exc

if TYPE_CHECKING:
    from kedro.io import CatalogProtocol
    from kedro.pipeline import Pipeline as KedroPipeline
    from pluggy import PluginManager

__all__ = ["ParallelRunner", "SequentialRunner", "ThreadRunner"]

T = TypeVar("T")


def _run_to_completion(main: Callable[[], Awaitable[T]]) -> T:
    """``anyio.run(main)``; in a helper thread when this thread already runs an event loop
    (a Jupyter kernel does), since Kedro's ``run`` is synchronous."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return anyio.run(main)
    with ThreadPoolExecutor(1, thread_name_prefix="pipeloop-kedro") as pool:
        return pool.submit(anyio.run, main).result()


class _PipeloopKedroRunner(KedroAbstractRunner):
    """What the three runners share: Kedro's interface over a pipeloop policy."""

    #: The pipeloop runner that executes the nodes (each subclass makes its own).
    policy: pipeloop.AbstractRunner

    def __init__(self, is_async: bool = False, *, concurrent_io: bool = True) -> None:
        super().__init__(is_async=is_async)
        self.concurrent_io = concurrent_io

    def _get_executor(self, max_workers: int) -> Executor | None:
        """None: pipeloop's policy, not a ``concurrent.futures`` executor, runs the nodes."""
        return None

    def _run(
        self,
        pipeline: KedroPipeline,
        catalog: CatalogProtocol,
        hook_manager: PluginManager | None = None,
        run_id: str | None = None,
    ) -> None:
        """Run every node of ``pipeline`` on pipeloop's scheduler.

        Kedro's ``run`` has checked the inputs and made a dataset of ``catalog`` for every
        name; outputs are saved there.

        Raises:
            Exception: a node's error (or a dataset's, or a hook's) unchanged, with a note
                naming the node.
        """
        translation = translate_pipeline(pipeline)
        run_catalog = translate_catalog(catalog, pipeline.datasets())
        # Kedro's null manager answers every hook with None, as the relay expects.
        manager = cast("PluginManager", hook_manager or _NullPluginManager())
        relay = KedroHookRelay(manager, catalog, translation.kedro_nodes, run_id=run_id)

        async def main() -> dict[str, Any]:
            return await self.policy.run(translation.pipeline, run_catalog, hooks=[relay],
                                         run_id=run_id)

        _run_to_completion(main)

    def __repr__(self) -> str:
        workers = getattr(self.policy, "max_workers", None)
        shown = "" if workers is None else f"max_workers={workers}, "
        return f"pipeloop.kedro.{type(self).__name__}({shown}concurrent_io={self.concurrent_io})"


class SequentialRunner(_PipeloopKedroRunner):
    """Kedro's ``SequentialRunner`` on pipeloop's scheduler: one node at a time, in Kedro's
    order, each node's inputs loaded (and outputs saved) concurrently.

    Args:
        is_async: accepted for Kedro's CLI; see the module docstring.
        concurrent_io: load a node's inputs and save its outputs concurrently.
    """

    def __init__(self, is_async: bool = False, *, concurrent_io: bool = True) -> None:
        super().__init__(is_async=is_async, concurrent_io=concurrent_io)
        self.policy = pipeloop.SequentialRunner(is_async=concurrent_io)


class ThreadRunner(_PipeloopKedroRunner):
    """Kedro's ``ThreadRunner`` on pipeloop's scheduler: every ready node at once, plain
    functions in worker threads, loads and saves overlapped.

    Args:
        max_workers: threads for node functions (pipeloop's default when ``None``).
        is_async: accepted for Kedro's CLI; see the module docstring.
        concurrent_io: load a node's inputs and save its outputs concurrently.

    Raises:
        RunnerError: ``max_workers`` is not a positive integer.
    """

    def __init__(self, max_workers: int | None = None, is_async: bool = False, *,
                 concurrent_io: bool = True) -> None:
        super().__init__(is_async=is_async, concurrent_io=concurrent_io)
        self.policy = pipeloop.ThreadRunner(max_workers, is_async=concurrent_io)


class ParallelRunner(_PipeloopKedroRunner):
    """Kedro's ``ParallelRunner`` on pipeloop's scheduler: every ready node at once, plain
    functions in worker processes.

    Unlike Kedro's, data is loaded and saved in this process (so datasets need not be
    picklable, the data must be) and Kedro's node and dataset hooks fire here, with the
    session's hook manager, as under the other runners.

    Args:
        max_workers: worker processes (the number of CPUs when ``None``).
        is_async: accepted for Kedro's CLI; see the module docstring.
        concurrent_io: load a node's inputs and save its outputs concurrently.

    Raises:
        RunnerError: ``max_workers`` is not a positive integer.
    """

    def __init__(self, max_workers: int | None = None, is_async: bool = False, *,
                 concurrent_io: bool = True) -> None:
        super().__init__(is_async=is_async, concurrent_io=concurrent_io)
        self.policy = pipeloop.ParallelRunner(max_workers, is_async=concurrent_io)
