"""Masking a catalog's secrets in what a Dask cluster prints during a run.

Dask workers print on their own: the project's log lines from a node or a dataset running
there, and distributed's ``Compute Failed ... Exception: ...`` with the exception's
message, both straight to the worker's stderr, which is the user's terminal for a
``LocalCluster``. :func:`mask_cluster_logs` masks every log record made on the workers (and
in this process) while a run lasts, with the secrets of the run's catalog, and the
``warnings.warn`` messages worker processes show. What a worker writes with ``print`` is not
masked.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import ExitStack, asynccontextmanager
from typing import Any

import anyio
from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from pipeloop.datasets.secrets import masking_log_records, masking_warnings

__all__ = ["mask_cluster_logs"]

logger = logging.getLogger("pipeloop.runner")

#: Tells a worker in this very process (``processes=False``) from one in another process.
_PROCESS_TOKEN = uuid.uuid4().hex
_CLEANUP_TIMEOUT = 10.0


class _MaskWorkerLogs(WorkerPlugin):
    """On each worker, while registered: mask every log record made in the worker's process
    and, in a process of its own, the warnings it shows."""

    def __init__(self, secrets: frozenset[str], process_token: str) -> None:
        self.secrets = secrets
        self.process_token = process_token
        self._undo: ExitStack | None = None

    def setup(self, worker: Any) -> None:
        self._undo = ExitStack()
        self._undo.enter_context(masking_log_records(self.secrets))
        if self.process_token != _PROCESS_TOKEN:  # this process's warnings are the caller's
            self._undo.enter_context(masking_warnings(self.secrets))

    def teardown(self, worker: Any) -> None:
        if self._undo is not None:
            self._undo.close()


@asynccontextmanager
async def mask_cluster_logs(client: Client, secrets: Iterable[str]) -> AsyncIterator[None]:
    """Mask ``secrets`` in the log records made on the cluster's workers, and in this
    process, until the block ends; nothing happens without secrets.

    Args:
        client: an asynchronous client of the cluster.
        secrets: the strings to hide, e.g. the run catalog's ``secrets``.
    """
    hidden = frozenset(secrets)
    if not hidden:
        yield
        return
    name = f"pipeloop-mask-secrets-{uuid.uuid4().hex}"
    with masking_log_records(hidden):
        await client.register_plugin(_MaskWorkerLogs(hidden, _PROCESS_TOKEN), name=name)
        try:
            yield
        finally:
            with anyio.move_on_after(_CLEANUP_TIMEOUT, shield=True), \
                    contextlib.suppress(Exception):  # a cluster already gone has no plugin
                await client.unregister_worker_plugin(name)
