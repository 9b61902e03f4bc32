"""``--progress``: a live line on a terminal — nodes done of total, running nodes, elapsed.

Drawn with rich on stderr; log lines keep printing above it. When stderr is not a terminal
(CI, a file, a pipe) there is no display unless ``--progress`` asks for it: the log lines
already say the same, one per event.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING, Any

from pipeloop.engine.node import Node
from pipeloop.engine.pipeline import Pipeline

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

__all__ = ["ProgressDisplay", "wants_progress"]

_SHOWN_RUNNING = 3


def wants_progress(option: bool | None) -> bool:
    """Whether to show the display: as ``--progress/--no-progress`` says, else when stderr is
    a terminal (and rich is installed)."""
    if option is not None:
        return option
    try:
        import rich  # noqa: F401
    except ImportError:  # pragma: no cover - rich is a dependency
        return False
    return sys.stderr.isatty()


class ProgressDisplay:
    """A hook that draws the run's progress; use it as a context manager around the run.

    Args:
        force_terminal: draw even when stderr is not a terminal.
    """

    def __init__(self, *, force_terminal: bool = False) -> None:
        self._force_terminal = force_terminal
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._running: dict[Node, None] = {}
        self._failed = 0

    def __enter__(self) -> ProgressDisplay:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        console = Console(file=sys.stderr, force_terminal=self._force_terminal or None)
        self._progress = Progress(
            SpinnerColumn(), TextColumn("[bold]nodes"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.description}"),
            console=console, transient=False,
        )
        self._task = self._progress.add_task("", total=None)
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._progress is not None:
            self._refresh()
            self._progress.stop()

    # -- hooks ------------------------------------------------------------------------------

    def before_pipeline_run(self, pipeline: Pipeline) -> None:
        self._update(total=len(pipeline.nodes))

    def on_node_start(self, node: Node) -> None:
        self._running[node] = None
        self._refresh()

    def on_node_end(self, node: Node, error: BaseException | None) -> None:
        self._running.pop(node, None)
        if error is None:
            self._update(advance=1)
        else:
            self._failed += 1
        self._refresh()

    # -- drawing ----------------------------------------------------------------------------

    def description(self) -> str:
        """The text after the bar: failures, then the running nodes."""
        from rich.markup import escape

        parts = [f"[red]{self._failed} failed[/red]"] if self._failed else []
        names = [escape(node.short_name) for node in self._running]
        if names:
            shown = ", ".join(names[:_SHOWN_RUNNING])
            more = len(names) - _SHOWN_RUNNING
            parts.append(f"running: {shown}" + (f" (+{more} more)" if more > 0 else ""))
        return " · ".join(parts)

    def _refresh(self) -> None:
        self._update(description=self.description())

    def _update(self, **changes: Any) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, **changes)
