"""The provenance store and its recorder: what is written, when, and that it survives
failures, new processes and concurrent runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import anyio
import pytest

from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, ThreadRunner, node
from pipeloop.datasets import TextDataset
from pipeloop.engine.fingerprint import dataset_identity, fingerprint_pipeline
from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore, default_store_path
from pipeloop.engine.report import RunReport
from pipeloop.engine.staleness import check_staleness


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


# -- one connection, records batched at the end --------------------------------------------

def chain(size: int, persisted: set[int] = frozenset()) -> tuple[Pipeline, DataCatalog]:
    catalog = DataCatalog()
    catalog.add_parameters({"seed": "s"})
    pipe = Pipeline([node(exclaim, "params:seed" if i == 0 else f"d{i}", f"d{i + 1}",
                          name=f"n{i}") for i in range(size)])
    return pipe, catalog


async def test_every_node_of_a_long_run_is_recorded_in_the_one_write(tmp_path: Path) -> None:
    pipe, catalog = chain(300)
    for index in (10, 150, 300):
        catalog.add(f"d{index}", TextDataset(tmp_path / f"d{index}.txt"))
    store = ProvenanceStore(tmp_path / "p.db")
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)],
                                 run_id="r1")
    snapshot = await ProvenanceStore(tmp_path / "p.db").snapshot()  # another connection
    assert set(snapshot.nodes) == {f"n{i}" for i in range(300)}
    assert all(record.fingerprint and record.run_id == "r1"
               for record in snapshot.nodes.values())
    assert set(snapshot.outputs) == {"d10", "d150", "d300"}
    assert snapshot.outputs["d150"].node == "n149"
    assert snapshot.nodes["n5"].parts["params"] == {}
    assert snapshot.nodes["n0"].parts["params"].keys() == {"seed"}


async def test_a_write_by_another_connection_is_seen_before_skipping_a_row(
    tmp_path: Path,
) -> None:
    first = ProvenanceStore(tmp_path / "p.db")
    other = ProvenanceStore(tmp_path / "p.db")
    pipe, catalog = chain(3)
    prints = await fingerprint_pipeline(pipe, catalog)
    saved = [("d3", "n2", prints["n2"].output("d3"), "own:x")]  # a persisted output
    await first.record(prints.items(), saved, run_id="a")  # `first` now knows the rows
    changed, catalog = chain(3)
    catalog.add_parameters({"seed": "t"})
    await other.record((await fingerprint_pipeline(changed, catalog)).items(), run_id="b")
    await first.record(prints.items(), saved, run_id="c")  # must not trust what it read
    snapshot = await ProvenanceStore(tmp_path / "p.db").snapshot()
    assert {name: record.fingerprint for name, record in snapshot.nodes.items()} == {
        name: fp.digest for name, fp in prints.items()}
    assert {record.run_id for record in snapshot.nodes.values()} == {"c"}


async def test_a_store_whose_file_was_removed_writes_a_new_one(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "state" / "p.db")
    pipe, catalog = chain(2)
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    for path in (tmp_path / "state").iterdir():
        path.unlink()
    assert not (await store.snapshot()).nodes
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    assert set((await ProvenanceStore(tmp_path / "state" / "p.db").snapshot()).nodes) == {
        "n0", "n1"}


async def test_closing_a_store_leaves_only_the_database_file(tmp_path: Path) -> None:
    async with ProvenanceStore(tmp_path / "p.db") as store:
        pipe, catalog = chain(2)
        await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    assert [path.name for path in tmp_path.iterdir()] == ["p.db"]
    assert set((await store.snapshot()).nodes) == {"n0", "n1"}  # and it opens again
    store.close()


async def test_nodes_below_an_input_without_a_fingerprint_are_rewritten_only_on_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    writes: list[list[str]] = []
    write = store._write_records
    monkeypatch.setattr(store, "_write_records",
                        lambda digests, *rest: writes.append(sorted(digests)) or write(
                            digests, *rest))

    async def run(first: Any = exclaim) -> tuple[Pipeline, DataCatalog]:
        pipe = Pipeline([node(first, "given", "a", name="first"),
                         node(exclaim, "a", "b", name="second")])
        catalog = DataCatalog({"given": MemoryDataset("x")})  # offers no fingerprint
        await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
        return pipe, catalog

    await run()
    await run()
    assert len(writes) == 1  # the same parts again: the records stay as they are
    pipe, catalog = await run(shout)
    assert len(writes) == 2  # `first` has new code: its record is rewritten
    staleness = await check_staleness(pipe, catalog, store)
    # Never fresh, and the record explains only what is unknown (the code is as recorded).
    assert staleness.statuses["first"].reasons == (
        "input `given` cannot be fingerprinted (counts as changed)",)
    assert staleness.statuses["second"].reasons == ("input `a` changed",)
    recorded = (await store.snapshot()).nodes["first"].fingerprint
    assert recorded == (await fingerprint_pipeline(pipe, catalog))["first"].recorded
    assert recorded is not None and recorded.startswith("?")  # a partial fingerprint
    store.close()


async def test_a_store_opened_for_an_unchanged_run_takes_no_write_lock(
    tmp_path: Path,
) -> None:
    pipe, catalog = chain(5)
    await SequentialRunner().run(pipe, catalog,
                                 hooks=[ProvenanceRecorder(ProvenanceStore(tmp_path / "p.db"))])
    writer = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another run holds the write lock
    try:
        # A store that may not wait at all: asking for the lock would fail the run's record.
        store = ProvenanceStore(tmp_path / "p.db", timeout=0)
        pipe, catalog = chain(5)
        await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
        assert len((await store.snapshot()).nodes) == 5
        store.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    changed, catalog = chain(5)
    catalog.add_parameters({"seed": "changed"})  # and one that changed does write
    store = ProvenanceStore(tmp_path / "p.db")
    await SequentialRunner().run(changed, catalog, hooks=[ProvenanceRecorder(store)])
    assert {record.fingerprint for record in (await store.snapshot()).nodes.values()} == {
        fp.digest for fp in (await fingerprint_pipeline(changed, catalog)).values()}
    store.close()


@pytest.mark.parametrize("eager", [False, True])
async def test_a_cancelled_run_never_records_a_node_whose_outputs_were_not_saved(
    tmp_path: Path, eager: bool,
) -> None:
    started = anyio.Event()

    async def hang(text: str) -> str:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("not reached")

    (tmp_path / "raw.txt").write_text("hi")
    catalog = DataCatalog({"raw": TextDataset(tmp_path / "raw.txt"),
                           "a": TextDataset(tmp_path / "a.txt"),
                           "b": TextDataset(tmp_path / "b.txt")})
    pipe = Pipeline([node(shout, "raw", "a", name="first"),
                     node(exclaim, "a", "mid", name="memory"),
                     node(hang, "mid", "b", name="hangs"),
                     node(exclaim, "b", "c", name="after")])
    store = ProvenanceStore(tmp_path / "p.db")
    recorder = ProvenanceRecorder(store, eager=eager)
    async def run() -> None:
        await SequentialRunner(is_async=True).run(pipe, catalog, hooks=[recorder])

    async with anyio.create_task_group() as group:
        group.start_soon(run)
        await started.wait()
        group.cancel_scope.cancel()
    recorded = set((await store.snapshot()).nodes)
    assert not recorded & {"hangs", "after"}
    # Eager: what finished before the cancel is kept; at the end: nothing is (runs again).
    assert recorded == ({"first"} if eager else set())


async def test_an_unchanged_run_that_persists_nothing_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = ProvenanceStore(tmp_path / "p.db")
    writes: list[int] = []
    write = store._write_records
    monkeypatch.setattr(store, "_write_records",
                        lambda digests, *rest: writes.append(len(digests)) or write(
                            digests, *rest))
    for _ in range(2):
        pipe, catalog = chain(5)
        await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    assert writes == [5]  # the second run: every fingerprint as this store recorded it
    pipe, catalog = chain(5)
    catalog.add_parameters({"seed": "changed"})
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    pipe, catalog = chain(5)
    catalog.add("d5", TextDataset(tmp_path / "d5.txt"))
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    assert writes == [5, 5, 5]  # changed fingerprints; a persisted output to record
    assert set((await ProvenanceStore(tmp_path / "p.db").snapshot()).nodes) == {
        f"n{i}" for i in range(5)}
