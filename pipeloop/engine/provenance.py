"""The provenance store: what produced each persisted output, kept across runs.

One SQLite database (write-ahead log, so concurrent runs and readers do not block each
other, and a crash never leaves it half-written) under the project's ``.pipeloop/`` or a path
the app passes. It holds, per node, the fingerprint it last completed with and its parts;
per persisted output, the node that wrote it, the output's fingerprint and the output's own
identity at save time (to tell "modified by hand" from "as written"); and cached file
digests. Every call runs the blocking ``sqlite3`` work in a worker thread, off the event loop.

:class:`ProvenanceRecorder` is a run hook: pass it in ``hooks=`` to any runner and it
records each node once its last output is saved (``on_node_end``), so no scheduler change is
needed. A node that fails, or a run that crashes, leaves the earlier record in place; the
files it may have replaced then no longer match that record, so the node counts as changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from pipeloop.engine.fingerprint import (
    FileKey,
    NodeFingerprint,
    dataset_identity,
    fingerprint_pipeline,
    is_parameter,
)

if TYPE_CHECKING:
    from pipeloop.datasets.catalog import DataCatalog
    from pipeloop.engine.node import Node
    from pipeloop.engine.pipeline import Pipeline
    from pipeloop.engine.report import RunReport

__all__ = ["NodeRecord", "OutputRecord", "ProvenanceRecorder", "ProvenanceSnapshot",
           "ProvenanceStore", "default_store_path"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    node TEXT PRIMARY KEY, fingerprint TEXT, parts TEXT NOT NULL,
    run_id TEXT, recorded_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (
    dataset TEXT PRIMARY KEY, node TEXT NOT NULL, fingerprint TEXT, identity TEXT,
    run_id TEXT, recorded_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS file_digests (
    path TEXT PRIMARY KEY, device INTEGER, inode INTEGER, size INTEGER, mtime_ns INTEGER,
    ctime_ns INTEGER, digest TEXT NOT NULL);
"""


def default_store_path(project_path: str | os.PathLike[str]) -> Path:
    """Where a project keeps its provenance: ``<project>/.pipeloop/provenance.db``."""
    return Path(project_path) / ".pipeloop" / "provenance.db"


@dataclass(frozen=True)
class NodeRecord:
    """What a node last completed with."""

    node: str
    fingerprint: str | None
    parts: dict[str, Any]
    run_id: str | None
    recorded_at: float


@dataclass(frozen=True)
class OutputRecord:
    """What a persisted output held when its node saved it."""

    dataset: str
    node: str
    fingerprint: str | None
    identity: str | None
    run_id: str | None
    recorded_at: float


@dataclass(frozen=True)
class ProvenanceSnapshot:
    """Every record at one moment, read in one query, for checks that look at many."""

    nodes: Mapping[str, NodeRecord]
    outputs: Mapping[str, OutputRecord]

    def recorded_output(self, name: str) -> tuple[str | None, str | None] | None:
        record = self.outputs.get(name)
        return None if record is None else (record.fingerprint, record.identity)


class ProvenanceStore:
    """Records of which node produced what, in a SQLite file.

    Args:
        path: the database file; its folder is made on first use.
        timeout: seconds to wait for another run's write to finish before failing.
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._timeout = timeout
        self._ready = False

    def __repr__(self) -> str:
        return f"ProvenanceStore({str(self.path)!r})"

    # -- blocking primitives (worker threads) ---------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=self._timeout, isolation_level=None)
        connection.execute("PRAGMA synchronous=NORMAL")
        if not self._ready:
            self._initialise(connection)
            self._ready = True
        return connection

    def _initialise(self, connection: sqlite3.Connection) -> None:
        """Switch the file to WAL and create the tables. Switching the journal mode does not
        wait for a busy database as statements do (another run may be writing, or setting it
        up too), so it is retried until ``timeout``."""
        deadline = time.monotonic() + self._timeout
        while True:
            try:
                if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    connection.execute("PRAGMA journal_mode=WAL")
                connection.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                busy = getattr(exc, "sqlite_errorcode", None) in (sqlite3.SQLITE_BUSY,
                                                                  sqlite3.SQLITE_LOCKED)
                if not busy or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A connection inside one write transaction (taken at once, so two runs' writes
        never interleave), committed on success, rolled back on any error."""
        connection = self._connect()
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            connection.close()

    def _write(self, statements: Iterable[tuple[str, list[tuple[Any, ...]]]]) -> None:
        with self._transaction() as connection:
            for sql, rows in statements:
                connection.executemany(sql, rows)

    def _read_snapshot(self) -> ProvenanceSnapshot:
        if not self.path.exists():
            return ProvenanceSnapshot({}, {})
        connection = self._connect()
        try:
            nodes = {row[0]: NodeRecord(row[0], row[1], json.loads(row[2]), row[3], row[4])
                     for row in connection.execute(
                         "SELECT node, fingerprint, parts, run_id, recorded_at FROM nodes")}
            outputs = {row[0]: OutputRecord(*row) for row in connection.execute(
                "SELECT dataset, node, fingerprint, identity, run_id, recorded_at FROM outputs")}
        finally:
            connection.close()
        return ProvenanceSnapshot(nodes, outputs)

    def _read_outputs(self, names: list[str]) -> ProvenanceSnapshot:
        if not self.path.exists() or not names:
            return ProvenanceSnapshot({}, {})
        connection = self._connect()
        try:
            marks = ", ".join("?" * len(names))
            outputs = {row[0]: OutputRecord(*row) for row in connection.execute(
                "SELECT dataset, node, fingerprint, identity, run_id, recorded_at FROM outputs "
                f"WHERE dataset IN ({marks})", names)}
        finally:
            connection.close()
        return ProvenanceSnapshot({}, outputs)

    # HashCache, for fingerprint.file_digest (already in a worker thread)

    def cached_digest(self, path: str, key: FileKey) -> str | None:
        """The stored digest of ``path`` if it was taken with this ``key`` (blocking)."""
        connection = self._connect()
        try:
            row = connection.execute(
                "SELECT device, inode, size, mtime_ns, ctime_ns, digest FROM file_digests "
                "WHERE path = ?", (path,)).fetchone()
        finally:
            connection.close()
        return row[5] if row is not None and tuple(row[:5]) == key else None

    def remember_digest(self, path: str, key: FileKey, digest: str) -> None:
        """Store the digest of ``path`` as seen with ``key`` (blocking)."""
        self._write([("INSERT OR REPLACE INTO file_digests VALUES (?, ?, ?, ?, ?, ?, ?)",
                      [(path, *key, digest)])])

    # -- async API ------------------------------------------------------------------------

    async def snapshot(self) -> ProvenanceSnapshot:
        """Every node and output record, read at once."""
        return await anyio.to_thread.run_sync(self._read_snapshot)

    async def output_records(self, names: Iterable[str]) -> ProvenanceSnapshot:
        """Only the output records of datasets ``names`` (no node records)."""
        return await anyio.to_thread.run_sync(self._read_outputs, sorted(set(names)))

    async def record(
        self,
        nodes: Iterable[tuple[str, NodeFingerprint | None]],
        outputs: Iterable[tuple[str, str, str | None, str | None]] = (),
        *,
        run_id: str | None = None,
    ) -> None:
        """Record completed nodes and their persisted outputs in one transaction.

        Args:
            nodes: ``(node name, fingerprint)``; ``None`` records "ran, fingerprint unknown".
            outputs: ``(dataset, node name, output fingerprint, identity after the save)``.
            run_id: the run that produced them.
        """
        await anyio.to_thread.run_sync(self._write_records, list(nodes),
                                       [(*row, run_id, time.time()) for row in outputs],
                                       run_id)

    def _write_records(self, nodes: list[tuple[str, NodeFingerprint | None]],
                       output_rows: list[tuple[Any, ...]], run_id: str | None) -> None:
        """One transaction. A node whose recorded fingerprint is already the one it ran with
        keeps its row (and so the run that first recorded it): a run that changed nothing
        writes only its persisted outputs' identities."""
        now = time.time()
        with self._transaction() as connection:
            recorded = dict(connection.execute("SELECT node, fingerprint FROM nodes"))
            node_rows = []
            for name, fp in nodes:
                digest = None if fp is None or not fp.cache else fp.digest
                if digest is not None and recorded.get(name) == digest:
                    continue
                node_rows.append((name, digest, json.dumps(
                    fp.to_record() if fp is not None else {}), run_id, now))
            connection.executemany("INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?)",
                                   node_rows)
            connection.executemany(
                "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)", output_rows)

    async def forget(self, node_names: Iterable[str]) -> None:
        """Drop the records of these nodes (they count as never run)."""
        names: list[tuple[Any, ...]] = [(name,) for name in node_names]
        await anyio.to_thread.run_sync(self._write, [
            ("DELETE FROM nodes WHERE node = ?", names),
            ("DELETE FROM outputs WHERE node = ?", names)])


class ProvenanceRecorder:
    """A run hook that records every node that completed, after its outputs were saved.

    By default the records are written in one transaction when the run ends: after a
    success every node completed; after a failure, the nodes ``report`` (the run's
    :class:`~pipeloop.engine.report.RunReport`) lists as completed, or none without one.
    That costs nothing per node. With ``eager=True`` each node is recorded as soon as its
    last output is saved (``on_node_end``; nodes whose outputs are all in memory are batched
    with the next persisted one or the end of the run), so a killed process keeps what it
    finished, at the cost of one hook call per node. Whatever is not recorded just runs
    again next time.

    Args:
        store: where to record.
        fingerprints: node name -> fingerprint, when already computed (by a staleness
            check before the run); otherwise they are computed when the run starts.
        report: the run's report, to know which nodes completed when a run fails.
        eager: record node by node instead of at the end.

    One recorder serves one run at a time.
    """

    #: Set on eager recorders only (a hook the scheduler then calls for every node).
    on_node_end: Callable[[Node, BaseException | None], Awaitable[None]]

    def __init__(self, store: ProvenanceStore, *,
                 fingerprints: Mapping[str, NodeFingerprint] | None = None,
                 report: RunReport | None = None, eager: bool = False) -> None:
        self.store = store
        self._given = fingerprints
        self._report = report
        self._fingerprints: Mapping[str, NodeFingerprint] = {}
        self._catalog: DataCatalog | None = None
        self._pipeline: Pipeline | None = None
        self._run_id: str | None = None
        self._persisted: dict[str, bool] = {}
        self._pending: list[Node] = []
        self._recorded: set[str] = set()
        if eager:
            # An instance attribute, so that only eager recorders are called per node.
            self.on_node_end = self._on_node_end

    async def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Pipeline,
                                  catalog: DataCatalog) -> None:
        self._catalog = catalog
        self._pipeline = pipeline
        self._run_id = run_params.get("run_id")
        self._pending = []
        self._recorded = set()
        if self._given is not None:
            self._fingerprints = self._given
        else:
            raw = [name for name in pipeline.inputs() if not is_parameter(name)]
            snapshot = await self.store.output_records(raw)
            self._fingerprints = await fingerprint_pipeline(
                pipeline, catalog, recorded=snapshot, hash_cache=self.store)
        persisted: dict[str, bool] = {}
        for name in pipeline.all_outputs():
            dataset = catalog.get(name)
            persisted[name] = dataset is not None and bool(getattr(dataset, "persistent", False))
        self._persisted = persisted

    async def _on_node_end(self, node: Node, error: BaseException | None) -> None:
        if error is not None:
            return
        self._pending.append(node)
        persisted = self._persisted
        if any(persisted.get(output, False) for output in node.outputs):
            await self._flush()

    async def _flush(self) -> None:
        assert self._catalog is not None
        pending, self._pending = self._pending, []
        nodes: list[tuple[str, NodeFingerprint | None]] = []
        outputs = []
        for item in pending:
            name = item.name
            if name in self._recorded:
                continue
            self._recorded.add(name)
            fingerprint = self._fingerprints.get(name)
            nodes.append((name, fingerprint))
            for output in item.outputs:
                if self._persisted.get(output, False):
                    identity = await dataset_identity(self._catalog[output],
                                                      hash_cache=self.store)
                    value = fingerprint.output(output) if fingerprint is not None else None
                    outputs.append((output, name, value, identity))
        if nodes:
            await self.store.record(nodes, outputs, run_id=self._run_id)

    async def after_pipeline_run(self) -> None:
        assert self._pipeline is not None
        self._pending = self._pipeline.nodes
        await self._flush()

    async def on_pipeline_error(self) -> None:
        if self._report is not None and self._pipeline is not None:
            completed = set(self._report.completed_nodes)
            self._pending = [item for item in self._pipeline.nodes if item.name in completed]
        await self._flush()
