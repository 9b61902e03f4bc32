"""One adapter per engine, so a workload describes its pipeline once and runs it on both.

An engine adapter turns the workload's plain description (functions, dataset names, a
policy name) into that engine's nodes, pipeline, catalog and runner, and runs it from
synchronous code. ``pipeloop`` is always there; ``kedro`` only when it is installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

__all__ = ["POLICIES", "Engine", "NodeSpec", "available_engines", "engine_named",
           "kedro_missing_reason"]

#: The runner policies every engine offers, by the names the CLI takes.
POLICIES = ("sequential", "thread", "parallel")


class NodeSpec(NamedTuple):
    """One node, engine-neutral."""

    func: Callable[..., Any]
    inputs: str | list[str] | None
    outputs: str | list[str] | None
    name: str


class Engine(Protocol):
    """What a workload needs from an engine."""

    name: str
    version: str

    def pipeline(self, nodes: Sequence[NodeSpec]) -> Any:
        """Nodes and a pipeline made of them (construction is what ``scale`` times)."""

    def catalog(self, data: Mapping[str, Any], datasets: Mapping[str, Any], policy: str) -> Any:
        """A catalog holding ``data`` in memory datasets and ``datasets`` as they are."""

    def slow_dataset(self, delay: float, data: Any = None) -> Any:
        """A dataset whose every load and save takes ``delay`` seconds of waiting."""

    def run(self, pipeline: Any, catalog: Any, policy: str, *, max_workers: int | None = None,
            is_async: bool | None = None) -> Any:
        """Make a runner of ``policy`` (``None`` options keep the engine's defaults), run
        ``pipeline`` with it from synchronous code, and drop it: the time to start and stop
        the runner's pools is part of the run."""


    def run_warm(self, first: tuple[Any, Any], second: tuple[Any, Any], policy: str, *,
                 max_workers: int | None = None, is_async: bool | None = None) -> float:
        """Run two (pipeline, catalog) pairs with one runner on one event loop and return
        the seconds the second took (engines with an event loop only)."""


def kedro_missing_reason() -> str | None:
    """Why Kedro cannot be compared here, or ``None`` when it can."""
    if importlib.util.find_spec("kedro") is None:
        return "kedro is not installed (pip install -e '.[bench]')"
    return None


def engine_named(name: str) -> Engine:
    """The adapter of the engine called ``name`` ("kedro" or "pipeloop"), imported only
    now: a child process that measures one engine loads nothing of the other."""
    if name == "kedro":
        from benchmarks.engines.kedro_engine import KedroEngine

        return KedroEngine()
    from benchmarks.engines.pipeloop_engine import PipeloopEngine

    return PipeloopEngine()


def available_engines(compare_kedro: bool) -> list[Engine]:
    """pipeloop, then Kedro when asked for and installed."""
    from benchmarks.engines.pipeloop_engine import PipeloopEngine

    engines: list[Engine] = [PipeloopEngine()]
    if compare_kedro and kedro_missing_reason() is None:
        from benchmarks.engines.kedro_engine import KedroEngine

        engines.append(KedroEngine())
    return engines
