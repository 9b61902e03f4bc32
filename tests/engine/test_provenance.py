"""The provenance store and its recorder: what is written, when, and that it survives
failures, new processes and concurrent runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from pipeloop import DataCatalog, Pipeline, SequentialRunner, ThreadRunner, node
from pipeloop.datasets import TextDataset
from pipeloop.engine.fingerprint import dataset_identity
from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore, default_store_path
from pipeloop.engine.report import RunReport


def shout(text: str) -> str:
    return text.upper()


def exclaim(text: str) -> str:
    return text + "!"


def boom(text: str) -> str:
    raise ValueError("boom")


def make(tmp_path: Path, second: Any = exclaim, raw: str = "hi"
         ) -> tuple[Pipeline, DataCatalog]:
    (tmp_path / "raw.txt").write_text(raw)
    catalog = DataCatalog({"raw": TextDataset(tmp_path / "raw.txt"),
                           "out": TextDataset(tmp_path / "out.txt")})
    pipe = Pipeline([node(shout, "raw", "mid", name="shout"),
                     node(second, "mid", "out", name="second")])
    return pipe, catalog


def test_default_path_is_under_dot_pipeloop(tmp_path: Path) -> None:
    assert default_store_path(tmp_path) == tmp_path / ".pipeloop" / "provenance.db"


async def test_an_empty_store_has_no_records(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    snapshot = await store.snapshot()
    assert not snapshot.nodes and not snapshot.outputs
    assert not (tmp_path / "p.db").exists()  # reading creates nothing


async def test_a_run_records_nodes_and_persisted_outputs(tmp_path: Path) -> None:
    pipe, catalog = make(tmp_path)
    store = ProvenanceStore(tmp_path / "state" / "p.db")
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)],
                                 run_id="r1")
    snapshot = await ProvenanceStore(tmp_path / "state" / "p.db").snapshot()  # a new process
    assert set(snapshot.nodes) == {"shout", "second"}
    assert {record.run_id for record in snapshot.nodes.values()} == {"r1"}
    assert set(snapshot.outputs) == {"out"}  # memory data is not persisted
    record = snapshot.outputs["out"]
    assert record.node == "second"
    assert record.identity == await dataset_identity(catalog["out"])
    assert snapshot.nodes["second"].parts["inputs"].keys() == {"mid"}
    connection = sqlite3.connect(tmp_path / "state" / "p.db")
    try:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        connection.close()


async def test_a_node_is_recorded_only_after_its_outputs_are_saved(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    seen: dict[str, set[str]] = {}

    class Watching(TextDataset):
        async def _save(self, data: Any) -> None:
            seen["during save"] = set((await store.snapshot()).nodes)
            await super()._save(data)

    def check(text: str) -> str:
        seen["downstream"] = set(store._read_snapshot().nodes)
        return text

    (tmp_path / "raw.txt").write_text("hi")
    catalog = DataCatalog({"raw": TextDataset(tmp_path / "raw.txt"),
                           "mid": Watching(tmp_path / "mid.txt")})
    pipe = Pipeline([node(shout, "raw", "mid", name="shout"),
                     node(check, "mid", "last", name="check")])
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store, eager=True)])
    assert "shout" not in seen["during save"]
    assert "shout" in seen["downstream"]  # written as soon as its persisted output was


async def test_a_recorder_at_the_end_costs_no_hook_per_node(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    assert getattr(ProvenanceRecorder(store), "on_node_end", None) is None
    assert callable(ProvenanceRecorder(store, eager=True).on_node_end)


@pytest.mark.parametrize("how", ["report", "eager"])
async def test_a_failed_node_keeps_its_earlier_record(tmp_path: Path, how: str) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    pipe, catalog = make(tmp_path)
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)],
                                 run_id="good")
    pipe, catalog = make(tmp_path, second=boom, raw="changed")
    report = RunReport()
    recorder = (ProvenanceRecorder(store, report=report) if how == "report"
                else ProvenanceRecorder(store, eager=True))
    with pytest.raises(ValueError, match="boom"):
        await SequentialRunner().run(pipe, catalog, hooks=[recorder], run_id="bad",
                                     report=report)
    snapshot = await store.snapshot()
    assert snapshot.nodes["shout"].run_id == "bad"  # it completed on new input: recorded
    assert snapshot.nodes["second"].run_id == "good"
    assert snapshot.outputs["out"].run_id == "good"


async def test_a_failed_run_without_a_report_records_nothing(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    pipe, catalog = make(tmp_path, second=boom)
    with pytest.raises(ValueError, match="boom"):
        await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    assert not (await store.snapshot()).nodes  # unknown what completed: all run again


async def test_concurrent_runs_share_one_store(tmp_path: Path) -> None:
    store_path = tmp_path / "p.db"

    async def one(index: int) -> None:
        folder = tmp_path / f"run{index}"
        folder.mkdir()
        (folder / "raw.txt").write_text(str(index))
        catalog = DataCatalog({"raw": TextDataset(folder / "raw.txt")})
        for step in range(5):
            catalog.add(f"o{index}_{step}", TextDataset(folder / f"o{step}.txt"))
        pipe = Pipeline([node(exclaim, "raw" if step == 0 else f"o{index}_{step - 1}",
                              f"o{index}_{step}", name=f"n{index}_{step}")
                         for step in range(5)])
        await ThreadRunner(max_workers=2).run(
            pipe, catalog, hooks=[ProvenanceRecorder(ProvenanceStore(store_path))])

    async with anyio.create_task_group() as group:
        for index in range(4):
            group.start_soon(one, index)
    snapshot = await ProvenanceStore(store_path).snapshot()
    assert len(snapshot.nodes) == 20 and len(snapshot.outputs) == 20


async def test_a_store_opened_while_another_writes_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    import sqlite3
    import threading

    path = tmp_path / "p.db"
    holder = sqlite3.connect(path, isolation_level=None,  # a database in rollback mode
                             check_same_thread=False)
    holder.execute("CREATE TABLE other (x)")
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    threading.Timer(0.3, holder.execute, ["COMMIT"]).start()
    try:
        snapshot = await ProvenanceStore(path).snapshot()  # WAL switch retried until free
    finally:
        holder.close()
    assert snapshot.nodes == {} and snapshot.outputs == {}


async def test_a_run_that_changed_nothing_keeps_the_first_record(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    for run_id in ("first", "second"):
        pipe, catalog = make(tmp_path)
        await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)],
                                     run_id=run_id)
    snapshot = await store.snapshot()
    assert {record.run_id for record in snapshot.nodes.values()} == {"first"}
    assert snapshot.outputs["out"].run_id == "second"  # what is on disk now: rewritten


async def test_forget_drops_records(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    pipe, catalog = make(tmp_path)
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    await store.forget(["second"])
    snapshot = await store.snapshot()
    assert set(snapshot.nodes) == {"shout"} and not snapshot.outputs
