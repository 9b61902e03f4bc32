"""``--trace FILE``: the run as Chrome trace-event JSON, for Perfetto or chrome://tracing.

Each node is one complete event (``"ph": "X"``) on a *lane* (its ``tid``): a node takes the
lowest lane free when it starts, so lanes show how many nodes ran at once and the gaps
between them. Within a node's slice, each dataset load and save is an async slice
(``"b"``/``"e"``, category ``load`` or ``save``); they may overlap, since a node's inputs load
concurrently. Times are microseconds since the run started.

See https://docs.google.com/document/d/1CvAClvFfyA5R-PhYUmn5OOQtYMH4h6I0nSsKchNAySU for the
format.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipeloop.cli.errors import describe_exception
from pipeloop.cli.masking import SecretMask
from pipeloop.datasets.atomic import write_atomically
from pipeloop.engine.node import Node
from pipeloop.engine.pipeline import Pipeline

__all__ = ["TraceRecorder"]


class TraceRecorder:
    """A hook that records a run as trace events.

    Args:
        clock: nanoseconds from an arbitrary origin (``time.perf_counter_ns``).
        pid: the ``pid`` of every event (this process by default).
    """

    def __init__(self, *, clock: Callable[[], int] = time.perf_counter_ns,
                 pid: int | None = None) -> None:
        self._clock = clock
        self._origin = clock()
        self._pid = os.getpid() if pid is None else pid
        self._events: list[dict[str, Any]] = []
        self._open: dict[Node, tuple[float, int]] = {}  # node -> (start, lane)
        self._busy_lanes: set[int] = set()
        self._lanes_used: set[int] = set()
        self._io_ids = 0
        self._io_open: dict[tuple[str, str, str], int] = {}  # (kind, node, dataset) -> id
        self._metadata: dict[str, Any] = {}

    def _now(self) -> float:
        return (self._clock() - self._origin) / 1000

    # -- the run ----------------------------------------------------------------------------

    def before_pipeline_run(self, pipeline: Pipeline, run_params: dict[str, Any]) -> None:
        self._origin = self._clock()
        self._metadata = {"nodes": len(pipeline.nodes), **run_params}

    def after_pipeline_run(self) -> None:
        self.close()

    def on_pipeline_error(self, error: BaseException) -> None:
        self._metadata["error"] = describe_exception(error)
        self.close()

    def close(self) -> None:
        """End the slices of nodes still running (the run failed or was cancelled)."""
        for node in list(self._open):
            self._end_node(node, {"status": "unfinished"})

    # -- nodes ------------------------------------------------------------------------------

    def on_node_start(self, node: Node) -> None:
        lane = min(set(range(len(self._busy_lanes) + 1)) - self._busy_lanes)
        self._busy_lanes.add(lane)
        self._lanes_used.add(lane)
        self._open[node] = (self._now(), lane)

    def on_node_end(self, node: Node, error: BaseException | None) -> None:
        if error is None:
            self._end_node(node, {"status": "completed"})
        else:
            self._end_node(node, {"status": "failed", "error": describe_exception(error)})

    def _end_node(self, node: Node, args: dict[str, Any]) -> None:
        opened = self._open.pop(node, None)
        if opened is None:
            return
        start, lane = opened
        self._busy_lanes.discard(lane)
        self._events.append({
            "name": node.name, "cat": "node", "ph": "X", "ts": start,
            "dur": max(self._now() - start, 0.0), "pid": self._pid, "tid": lane,
            "args": {"function": node.func_name, "inputs": node.inputs,
                     "outputs": node.outputs, **args},
        })

    # -- loads and saves --------------------------------------------------------------------

    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        self._begin_io("load", dataset_name, node)

    def after_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        self._end_io("load", dataset_name, node)

    def before_dataset_saved(self, dataset_name: str, node: Node) -> None:
        self._begin_io("save", dataset_name, node)

    def after_dataset_saved(self, dataset_name: str, node: Node) -> None:
        self._end_io("save", dataset_name, node)

    def _begin_io(self, kind: str, dataset_name: str, node: Node) -> None:
        opened = self._open.get(node)
        self._io_ids += 1
        self._io_open[(kind, node.name, dataset_name)] = self._io_ids
        self._events.append({
            "name": dataset_name, "cat": kind, "ph": "b", "id": self._io_ids,
            "ts": self._now(), "pid": self._pid, "tid": opened[1] if opened else 0,
            "args": {"node": node.name},
        })

    def _end_io(self, kind: str, dataset_name: str, node: Node) -> None:
        io_id = self._io_open.pop((kind, node.name, dataset_name), None)
        if io_id is None:
            return
        opened = self._open.get(node)
        self._events.append({
            "name": dataset_name, "cat": kind, "ph": "e", "id": io_id, "ts": self._now(),
            "pid": self._pid, "tid": opened[1] if opened else 0,
        })

    # -- output -----------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The trace as a JSON-ready dict (``traceEvents`` first, times in µs)."""
        names = [{"name": "process_name", "ph": "M", "pid": self._pid, "tid": 0,
                  "args": {"name": "pipeloop run"}}]
        names += [{"name": "thread_name", "ph": "M", "pid": self._pid, "tid": lane,
                   "args": {"name": f"lane {lane}"}} for lane in sorted(self._lanes_used)]
        return {"traceEvents": names + self._events, "displayTimeUnit": "ms",
                "otherData": {key: str(value) for key, value in self._metadata.items()}}

    def write(self, path: str | os.PathLike[str], *, mask: SecretMask | None = None) -> None:
        """Write the trace to ``path`` atomically (no half-written file, ever), with every
        string passed through ``mask`` (error messages may quote credentials)."""
        events = self.to_json() if mask is None else mask.mask_data(self.to_json())
        write_atomically(Path(path), json.dumps(events, indent=None))
