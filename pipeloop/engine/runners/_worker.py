"""What runs inside a ``ParallelRunner`` worker process.

Kept apart, with few imports, because every worker imports it before its first node: a
fresh interpreter should not load the catalog, the scheduler and asyncio only to call one
function.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from pipeloop.engine.node import Node

__all__ = ["FailedInWorker", "ready", "run_in_worker"]


class _LogCollector(logging.Handler):
    """Keeps a worker's log records so the parent can log them as its own."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        record.msg, record.args = record.getMessage(), None  # arguments may not pickle
        record.exc_text = self.format(record) if record.exc_info else None
        record.exc_info = None
        self.records.append(record)


class FailedInWorker(Exception):
    """Carries a node's exception and the log records made before it, back to the parent."""

    def __init__(self, error: BaseException, records: list[logging.LogRecord]) -> None:
        super().__init__(error, records)
        self.error = error
        self.records = records


def _leave_interrupts_to_the_parent() -> None:
    """Ignore SIGINT in this worker. Ctrl-C reaches every process of the terminal's
    foreground group; in a worker it would raise ``KeyboardInterrupt`` inside the node and
    send it back to the parent as the node's result. The parent owns the run: it cancels the
    run on Ctrl-C, and a cancelled call kills its worker."""
    if (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is not signal.SIG_IGN):
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_in_worker(node: Node, inputs: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    """Executed in the worker process: run the node, keeping what it logs (a worker's own
    stderr goes nowhere)."""
    _leave_interrupts_to_the_parent()
    root, collector = logging.getLogger(), _LogCollector()
    level = root.level
    root.addHandler(collector)
    root.setLevel(logging.DEBUG)
    try:
        return node.run(inputs), collector.records
    except Exception as exc:
        raise FailedInWorker(exc, collector.records) from None
    finally:
        root.removeHandler(collector)
        root.setLevel(level)


def ready() -> None:
    """Executed in a new worker to start it: unpickling this imports what nodes need."""
    _leave_interrupts_to_the_parent()
