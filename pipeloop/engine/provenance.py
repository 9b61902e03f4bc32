"""The provenance store: what produced each persisted output, kept across runs.

One SQLite database (write-ahead log, so concurrent runs and readers do not block each
other, and a crash never leaves it half-written) under the project's ``.pipeloop/`` or a path
the app passes. It holds, per node, the fingerprint it last completed with and its parts;
per persisted output, the node that wrote it, the output's fingerprint and the output's own
identity at save time (to tell "modified by hand" from "as written"); and cached file
digests. Every call runs the blocking ``sqlite3`` work in a worker thread, off the event loop,
on the store's one connection (close it with :meth:`ProvenanceStore.aclose`, or ``async
with``; a dropped store closes it too).

:class:`ProvenanceRecorder` is a run hook: pass it in ``hooks=`` to any runner and it
records each node once its last output is saved (``on_node_end``), so no scheduler change is
needed. A node that fails, or a run that crashes, leaves the earlier record in place; the
files it may have replaced then no longer match that record, so the node counts as changed.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread

from pipeloop.engine.fingerprint import (
    FileKey,
    NodeFingerprint,
    PipelineFingerprints,
    dataset_identity,
    fingerprint_table,
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


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on ``connection`` (taken at once, so two runs' writes never
    interleave), committed on success, rolled back on any error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


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
        self._lock = threading.Lock()
        self._open: sqlite3.Connection | None = None
        self._open_key: tuple[int, int] | None = None
        self._closer: weakref.finalize[Any, Any] | None = None
        #: node -> recorded fingerprint, as of ``_fingerprints_version`` (PRAGMA
        #: data_version: it changes when another connection commits).
        self._fingerprints: dict[str, str | None] | None = None
        self._fingerprints_version = -1

    def __repr__(self) -> str:
        return f"ProvenanceStore({str(self.path)!r})"

    # -- blocking primitives (worker threads) ---------------------------------------------

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """The store's one connection, for one thread at a time. It is opened on first use
        and again when the file was replaced or removed, and closed by :meth:`close` or when
        the store is dropped. One connection, not one per call: opening costs more than a
        run's whole write, and it lets :meth:`_recorded_fingerprints` keep what it read."""
        with self._lock:
            if self._open is not None and self._file_key() != self._open_key:
                self._close_connection()
                self._ready = False  # a new file: it needs WAL and the tables again
            if self._open is None:
                if not self._ready:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(self.path, timeout=self._timeout,
                                             isolation_level=None, check_same_thread=False)
                self._closer = weakref.finalize(self, connection.close)
                try:
                    connection.execute("PRAGMA synchronous=NORMAL")
                    if not self._ready:
                        self._initialise(connection)
                        self._ready = True
                except BaseException:
                    self._closer()
                    raise
                self._open, self._open_key = connection, self._file_key()
            yield self._open

    def _file_key(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_dev, stat.st_ino

    def _close_connection(self) -> None:
        if self._closer is not None:
            self._closer()
        self._open = self._closer = self._open_key = None
        self._fingerprints = None

    def close(self) -> None:
        """Close the database connection (blocking; the next call opens it again). A store
        that is dropped closes it too; closing at once removes SQLite's ``-wal`` and
        ``-shm`` files when no other connection has the database open."""
        with self._lock:
            self._close_connection()

    async def aclose(self) -> None:
        """:meth:`close`, in a worker thread, even in a cancelled scope."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self.close)

    async def __aenter__(self) -> ProvenanceStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

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

    def _recorded_fingerprints(self, connection: sqlite3.Connection) -> dict[str, str | None]:
        """Node -> recorded fingerprint, read again only when another connection wrote since
        the last read (call it inside a transaction: what it returns then stays true until
        the commit)."""
        version = connection.execute("PRAGMA data_version").fetchone()[0]
        if self._fingerprints is None or version != self._fingerprints_version:
            self._fingerprints = dict(connection.execute("SELECT node, fingerprint FROM nodes"))
            self._fingerprints_version = version
        return self._fingerprints

    def _write(self, statements: Iterable[tuple[str, list[tuple[Any, ...]]]]) -> None:
        with self._connection() as connection, _transaction(connection):
            for sql, rows in statements:
                connection.executemany(sql, rows)

    def _read_snapshot(self) -> ProvenanceSnapshot:
        if not self.path.exists():
            return ProvenanceSnapshot({}, {})
        with self._connection() as connection:
            nodes = {row[0]: NodeRecord(row[0], row[1], json.loads(row[2]), row[3], row[4])
                     for row in connection.execute(
                         "SELECT node, fingerprint, parts, run_id, recorded_at FROM nodes")}
            outputs = {row[0]: OutputRecord(*row) for row in connection.execute(
                "SELECT dataset, node, fingerprint, identity, run_id, recorded_at FROM outputs")}
        return ProvenanceSnapshot(nodes, outputs)

    def _read_outputs(self, names: list[str]) -> ProvenanceSnapshot:
        if not self.path.exists() or not names:
            return ProvenanceSnapshot({}, {})
        with self._connection() as connection:
            marks = ", ".join("?" * len(names))
            outputs = {row[0]: OutputRecord(*row) for row in connection.execute(
                "SELECT dataset, node, fingerprint, identity, run_id, recorded_at FROM outputs "
                f"WHERE dataset IN ({marks})", names)}
        return ProvenanceSnapshot({}, outputs)

    # HashCache, for fingerprint.file_digest (already in a worker thread)

    def cached_digest(self, path: str, key: FileKey) -> str | None:
        """The stored digest of ``path`` if it was taken with this ``key`` (blocking)."""
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT device, inode, size, mtime_ns, ctime_ns, digest FROM file_digests "
                "WHERE path = ?", (path,)).fetchall()
        row = rows[0] if rows else None
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
        wanted = sorted(set(names))
        if not wanted:  # a pipeline fed by parameters only: no thread, no query
            return ProvenanceSnapshot({}, {})
        return await anyio.to_thread.run_sync(self._read_outputs, wanted)

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
        given = dict(nodes)
        digests = {name: _recorded_digest(fp) for name, fp in given.items()}
        await self.record_digests(digests, given, outputs, run_id=run_id)

    async def record_digests(
        self,
        digests: Mapping[str, str | None],
        fingerprints: Mapping[str, NodeFingerprint | None],
        outputs: Iterable[tuple[str, str, str | None, str | None]] = (),
        *,
        run_id: str | None = None,
    ) -> None:
        """:meth:`record`, for callers that have the digests apart: ``fingerprints`` is
        read only for the nodes whose record changes (a lazy
        :class:`~pipeloop.engine.fingerprint.PipelineFingerprints` then makes no other).

        Args:
            digests: node name -> the fingerprint to record (``None``: unknown, or caching
                is off).
            fingerprints: node name -> its parts (a node it lacks is recorded with none).
            outputs: as for :meth:`record`.
            run_id: the run that produced them.
        """
        output_rows = [(*row, run_id, time.time()) for row in outputs]
        if not output_rows and self._known_unchanged(digests):
            return
        await anyio.to_thread.run_sync(self._write_records, digests, fingerprints,
                                       output_rows, run_id)

    def _known_unchanged(self, digests: Mapping[str, str | None]) -> bool:
        """Whether this store last read or wrote every one of ``digests`` as recorded, so
        that writing them would keep every row (checked in memory, no thread, no query).

        Another connection may have written since; skipping is still safe: a row it
        changed records a run that did complete, and these nodes persist nothing (no
        output rows) that such a row could vouch for. At worst a node counts as changed.
        """
        known = self._fingerprints
        # One stat of a local file (a removed or replaced database lost these rows).
        if known is None or self._file_key() != self._open_key:
            return False
        return _all_recorded(digests, known)

    def _write_records(self, digests: Mapping[str, str | None],
                       fingerprints: Mapping[str, NodeFingerprint | None],
                       output_rows: list[tuple[Any, ...]], run_id: str | None) -> None:
        """One transaction. A node whose recorded fingerprint is already the one it ran with
        keeps its row (and so the run that first recorded it): a run that changed nothing
        writes only its persisted outputs' identities."""
        now = time.time()
        with self._connection() as connection:
            if not output_rows and self._unchanged_in(connection, digests):
                return  # nothing to write: no write lock taken either
            with _transaction(connection):
                recorded = self._recorded_fingerprints(connection)
                node_rows = []
                for name, digest in digests.items():
                    if digest is not None and recorded.get(name) == digest:
                        continue
                    fp = fingerprints.get(name)
                    node_rows.append((name, digest, json.dumps(
                        fp.to_record() if fp is not None else {}), run_id, now))
                if node_rows:
                    connection.executemany(
                        "INSERT OR REPLACE INTO nodes VALUES (?, ?, ?, ?, ?)", node_rows)
                if output_rows:
                    connection.executemany(
                        "INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?)", output_rows)
            # Committed, and still this thread's: what this connection wrote does not
            # change data_version, so it goes into what was read.
            recorded.update((row[0], row[1]) for row in node_rows)

    def _unchanged_in(self, connection: sqlite3.Connection,
                      digests: Mapping[str, str | None]) -> bool:
        """:meth:`_known_unchanged`, against what the database holds now (one read, outside
        a write transaction: a store opened for one run, as a project's is, usually finds
        that its run changed nothing)."""
        return _all_recorded(digests, self._recorded_fingerprints(connection))

    async def forget(self, node_names: Iterable[str]) -> None:
        """Drop the records of these nodes (they count as never run)."""
        names: list[tuple[Any, ...]] = [(name,) for name in node_names]
        await anyio.to_thread.run_sync(self._forget, names)

    def _forget(self, names: list[tuple[Any, ...]]) -> None:
        with self._connection() as connection:
            with _transaction(connection):
                connection.executemany("DELETE FROM nodes WHERE node = ?", names)
                connection.executemany("DELETE FROM outputs WHERE node = ?", names)
            self._fingerprints = None


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
        self._persisted: dict[str, list[str]] = {}
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
            self._fingerprints = await fingerprint_table(
                pipeline, catalog, recorded=snapshot, hash_cache=self.store)
        self._persisted = _persisted_outputs(pipeline, catalog)

    async def _on_node_end(self, node: Node, error: BaseException | None) -> None:
        if error is not None:
            return
        self._pending.append(node)
        if node.name in self._persisted:
            await self._flush()

    async def _flush(self, *, everything: bool = False) -> None:
        """Record the pending nodes (``everything``: they are all of the run's nodes)."""
        assert self._catalog is not None
        pending, self._pending = self._pending, []
        recorded = self._recorded
        fingerprints = self._fingerprints
        table = (fingerprints.recorded_digests()
                 if isinstance(fingerprints, PipelineFingerprints) else None)
        digests: Mapping[str, str | None]
        if everything and not recorded and table is not None and self._given is None:
            # Every node of the run, whose table this recorder made: in one go, in C (and
            # no later flush of this run needs to know which).
            digests = table
        else:
            names = [item.name for item in pending if item.name not in recorded]
            if table is not None:
                digests = {name: table.get(name) for name in names}
            else:
                digests = {name: _recorded_digest(fingerprints.get(name)) for name in names}
            recorded.update(names)
        if not digests:
            return
        outputs = []
        persisted = self._persisted
        # A flush follows each node with persisted outputs: the intersection walks the
        # smaller side, or a run of many such nodes would walk all of them each time.
        for name in digests.keys() & persisted.keys():
            for output in persisted[name]:
                identity = await dataset_identity(self._catalog[output], hash_cache=self.store)
                fingerprint = fingerprints.get(name)
                value = fingerprint.output(output) if fingerprint is not None else None
                outputs.append((output, name, value, identity))
        await self.store.record_digests(digests, fingerprints, outputs, run_id=self._run_id)

    async def after_pipeline_run(self) -> None:
        assert self._pipeline is not None
        self._pending = self._pipeline.nodes
        await self._flush(everything=True)

    async def on_pipeline_error(self) -> None:
        if self._report is not None and self._pipeline is not None:
            completed = set(self._report.completed_nodes)
            self._pending = [item for item in self._pipeline.nodes if item.name in completed]
        await self._flush()


def _all_recorded(digests: Mapping[str, str | None], known: Mapping[str, str | None]) -> bool:
    """Whether every digest is known and recorded as it is; both checks run in C."""
    return None not in digests.values() and digests.items() <= known.items()


def _recorded_digest(fingerprint: NodeFingerprint | None) -> str | None:
    return None if fingerprint is None else fingerprint.recorded


def _persisted_outputs(pipeline: Pipeline, catalog: DataCatalog) -> dict[str, list[str]]:
    """Node name -> its outputs whose datasets outlive the process, for the nodes that have
    any. The run's catalog holds every dataset of the pipeline, so one pass over it (in C:
    a run's catalog holds a dataset per intermediate) finds them; a name it lacks is looked
    up (a dataset factory may make it)."""
    outputs = pipeline.all_outputs()
    flags = map(getattr, catalog.values(), repeat("persistent"), repeat(False))
    persistent = outputs.intersection(compress(catalog.keys(), flags))
    for name in outputs.difference(catalog.keys()):
        if getattr(catalog.get(name), "persistent", False):
            persistent.add(name)
    by_node: dict[str, list[str]] = {}
    for name in persistent:
        producer = pipeline.producer(name)
        if producer is not None and producer.name not in by_node:
            by_node[producer.name] = [out for out in producer.outputs if out in persistent]
    return by_node
