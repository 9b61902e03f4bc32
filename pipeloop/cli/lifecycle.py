"""When a node starts and finishes, told from the run's hooks, for the CLI's own hooks.

The hooks name stages (inputs loaded, function run, outputs saved); the CLI's trace, progress
display and failure report want the node's whole life: it *starts* with its first load (or
with its function, when it reads nothing) and *finishes* when its last output is saved (or
when its function fails). :class:`NodeLifecycle` turns the one into the other;
:class:`RunRecorder` remembers what completed, to say where to resume a failed run.
"""

from __future__ import annotations

import re
from typing import Any

from pipeloop.datasets.catalog import DataCatalog
from pipeloop.engine.node import Node
from pipeloop.engine.pipeline import Pipeline
from pipeloop.engine.resume import nodes_to_resume_from

__all__ = ["NodeLifecycle", "RunRecorder"]

_NODE_NOTE = re.compile(r"pipeloop: raised while running node '(?P<name>.+)'\.")


class NodeLifecycle:
    """A hook object that calls :meth:`node_started` and :meth:`node_finished` once per node.

    Subclasses override those two (and may implement other hooks, calling ``super()``).
    """

    def __init__(self) -> None:
        self._started: set[Node] = set()
        self._unsaved: dict[Node, set[str]] = {}

    # -- what subclasses override ---------------------------------------------------------

    def node_started(self, node: Node) -> None:
        """``node`` began loading its inputs (or running, if it has none)."""

    def node_finished(self, node: Node, error: BaseException | None) -> None:
        """``node`` saved its last output (``error`` is ``None``) or its function failed."""

    # -- the run's hooks --------------------------------------------------------------------

    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        self._start(node)

    def before_node_run(self, node: Node) -> None:
        self._start(node)

    def after_node_run(self, node: Node, outputs: dict[str, Any]) -> None:
        if outputs:
            self._unsaved[node] = set(outputs)
        else:
            self.node_finished(node, None)

    def after_dataset_saved(self, dataset_name: str, node: Node) -> None:
        waiting = self._unsaved.get(node)
        if waiting is None:
            return
        waiting.discard(dataset_name)
        if not waiting:
            del self._unsaved[node]
            self.node_finished(node, None)

    def on_node_error(self, node: Node, error: BaseException) -> None:
        self.node_finished(node, error)

    def _start(self, node: Node) -> None:
        if node not in self._started:
            self._started.add(node)
            self.node_started(node)


class RunRecorder(NodeLifecycle):
    """Remembers the pipeline, the run's catalog, and which nodes completed or failed."""

    def __init__(self) -> None:
        super().__init__()
        self.pipeline: Pipeline | None = None
        self.catalog: DataCatalog | None = None
        self.completed: list[Node] = []
        self.failed: dict[Node, BaseException] = {}

    def before_pipeline_run(self, pipeline: Pipeline, catalog: DataCatalog) -> None:
        self.pipeline = pipeline
        self.catalog = catalog

    def node_finished(self, node: Node, error: BaseException | None) -> None:
        if error is None:
            self.completed.append(node)
        else:
            self.failed[node] = error

    def failed_node(self, error: BaseException) -> str | None:
        """The name of the node that raised ``error``, if a node did."""
        for node, raised in self.failed.items():
            if raised is error:
                return node.name
        for note in getattr(error, "__notes__", ()):
            found = _NODE_NOTE.fullmatch(str(note))
            if found:
                return found["name"]
        return None

    def resume_nodes(self) -> list[str]:
        """The nodes ``--from-nodes`` needs to finish what this run did not (none when the
        run never started)."""
        if self.pipeline is None or self.catalog is None:
            return []
        completed = set(self.completed)
        unfinished = [node for node in self.pipeline.nodes if node not in completed]
        if not unfinished:
            return []
        return nodes_to_resume_from(self.pipeline.nodes, unfinished, self.catalog)
