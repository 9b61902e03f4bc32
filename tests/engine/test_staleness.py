"""Staleness and changed-only selection: each reason, the selection rule, and a property
test over random DAGs against a reference computation and a full run's outputs."""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop import DataCatalog, Pipeline, SequentialRunner, node
from pipeloop.datasets import JSONDataset, TextDataset
from pipeloop.engine.provenance import ProvenanceRecorder, ProvenanceStore
from pipeloop.engine.staleness import check_staleness, select_changed
from pipeloop.errors import PipelineError


def compile_step(name: str, tag: int) -> Any:
    namespace: dict[str, Any] = {}
    exec(f"def {name}(*xs):\n    return '{name}.v{tag}(' + ','.join(map(str, xs)) + ')'\n",
         namespace)
    return namespace[name]


class Project:
    """A small pipeline in a folder: raw file, parameters, a memory and a file output."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = ProvenanceStore(root / ".pipeloop" / "provenance.db")
        (root / "raw.txt").write_text("raw")
        self.params: dict[str, Any] = {"model": {"lr": 0.1, "depth": 2}, "seed": 1}
        self.funcs = {"prepare": compile_step("prepare", 0), "train": compile_step("train", 0),
                      "report": compile_step("report", 0)}
        self.cache = True

    def pipeline(self) -> Pipeline:
        return Pipeline([
            node(self.funcs["prepare"], ["raw", "params:seed"], "clean", name="prepare"),
            node(self.funcs["train"], ["clean", "params:model.lr"], "model", name="train",
                 cache=self.cache),
            node(self.funcs["report"], "model", "report", name="report"),
        ])

    def catalog(self) -> DataCatalog:
        catalog = DataCatalog({"raw": TextDataset(self.root / "raw.txt"),
                               "model": TextDataset(self.root / "model.txt"),
                               "report": TextDataset(self.root / "report.txt")})
        catalog.add_parameters(self.params)
        return catalog

    async def status(self) -> dict[str, tuple[str, ...]]:
        staleness = await check_staleness(self.pipeline(), self.catalog(), self.store)
        return {name: status.reasons for name, status in staleness.statuses.items()}

    async def run_changed(self, force: tuple[str, ...] = ()) -> list[str]:
        catalog = self.catalog()
        selection, staleness = await select_changed(self.pipeline(), catalog, self.store,
                                                    force_nodes=force)
        await SequentialRunner().run(
            selection.pipeline, catalog,
            hooks=[ProvenanceRecorder(self.store, fingerprints=staleness.fingerprints)])
        return [item.name for item in selection.pipeline.nodes]

    async def run_all(self) -> None:
        await SequentialRunner().run(self.pipeline(), self.catalog(),
                                     hooks=[ProvenanceRecorder(self.store)])


@pytest.fixture
async def project(tmp_path: Path) -> Project:
    made = Project(tmp_path)
    await made.run_all()
    return made


async def test_never_run(tmp_path: Path) -> None:
    assert set((await Project(tmp_path).status()).values()) == {("never run",)}


async def test_everything_fresh_after_a_run(project: Project) -> None:
    assert await project.status() == {"prepare": (), "train": (), "report": ()}
    assert await project.run_changed() == []


async def test_a_parameter_change_names_the_key(project: Project) -> None:
    project.params["model"]["lr"] = 0.2
    assert await project.status() == {"prepare": (),
                                      "train": ("parameter `model.lr` changed",),
                                      "report": ("input `model` changed",)}
    assert await project.run_changed() == ["prepare", "train", "report"]  # prepare: memory
    assert await project.run_changed() == []


async def test_a_parameter_nobody_reads_changes_nothing(project: Project) -> None:
    project.params["model"]["depth"] = 5
    assert await project.run_changed() == []


async def test_code_change(project: Project) -> None:
    project.funcs["report"] = compile_step("report", 1)
    assert (await project.status())["report"] == ("code changed",)
    assert await project.run_changed() == ["report"]
    assert (project.root / "report.txt").read_text().startswith("report.v1(")


async def test_raw_input_change(project: Project) -> None:
    (project.root / "raw.txt").write_text("new raw")
    status = await project.status()
    assert status["prepare"] == ("input `raw` changed",)
    assert status["train"] == ("input `clean` changed",)
    assert await project.run_changed() == ["prepare", "train", "report"]


async def test_touching_a_raw_input_changes_nothing(project: Project) -> None:
    (project.root / "raw.txt").write_text("raw")
    assert await project.run_changed() == []


async def test_missing_and_modified_outputs(project: Project) -> None:
    (project.root / "report.txt").unlink()
    assert (await project.status())["report"] == ("output `report` missing",)
    assert await project.run_changed() == ["report"]
    (project.root / "model.txt").write_text("edited by hand")
    status = await project.status()
    assert status["train"] == ("output `model` modified",)
    assert status["report"] == ()  # train will write its model again, exactly as before
    assert await project.run_changed() == ["prepare", "train"]
    assert (project.root / "model.txt").read_text().startswith("train.v0(")


async def test_forced_nodes_run_with_their_descendants(project: Project) -> None:
    assert await project.run_changed(force=("train",)) == ["prepare", "train", "report"]
    with pytest.raises(PipelineError, match="nope"):
        await project.run_changed(force=("nope",))


async def test_cache_false_always_runs_and_so_does_what_reads_it(tmp_path: Path) -> None:
    project = Project(tmp_path)
    project.cache = False
    await project.run_all()
    status = await project.status()
    assert status["train"][0] == "caching disabled (cache=False)"
    assert status["report"] == ("input `model` changed",)
    assert await project.run_changed() == ["prepare", "train", "report"]


async def test_selection_explains_itself(project: Project,
                                         caplog: pytest.LogCaptureFixture) -> None:
    project.funcs["report"] = compile_step("report", 2)
    selection, _ = await select_changed(project.pipeline(), project.catalog(), project.store)
    assert selection.running == {"report": "code changed"}
    assert set(selection.skipped) == {"prepare", "train"}
    with caplog.at_level(logging.INFO, logger="pipeloop.runner"):
        selection.log_skipped()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 2
    assert lines[1].startswith("Skipping node 'train': fresh, unchanged since run ")
    assert "outputs `model` as written" in lines[1]


async def test_versioned_outputs_are_identified_by_version(tmp_path: Path) -> None:
    store = ProvenanceStore(tmp_path / "p.db")

    def make() -> tuple[Pipeline, DataCatalog]:
        catalog = DataCatalog({"out": JSONDataset(tmp_path / "out.json", versioned=True)})
        catalog.add_parameters({"n": 1})
        return Pipeline([node(lambda n: {"n": n}, "params:n", "out", name="make")]), catalog

    pipe, catalog = make()
    await SequentialRunner().run(pipe, catalog, hooks=[ProvenanceRecorder(store)])
    pipe, catalog = make()
    assert (await check_staleness(pipe, catalog, store)).stale == []
    await JSONDataset(tmp_path / "out.json", versioned=True).save({"n": 99})  # a newer one
    pipe, catalog = make()
    status = (await check_staleness(pipe, catalog, store)).statuses["make"]
    assert status.reasons == ("output `out` modified",)


async def test_status_as_json(project: Project) -> None:
    staleness = await check_staleness(project.pipeline(), project.catalog(), project.store)
    rows = staleness.to_json()
    assert [row["node"] for row in rows] == ["prepare", "train", "report"]
    assert {row["status"] for row in rows} == {"fresh"}


# -- property: random DAGs, random edits ----------------------------------------------------

RAW = ("r0", "r1")
PARAMS = ("p0", "p1")


@dataclass
class Spec:
    """A random pipeline: node i reads some of RAW, PARAMS and earlier outputs."""

    inputs: list[list[str]]
    persisted: list[bool]
    tags: list[int] = field(default_factory=list)


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    count = draw(st.integers(1, 6))
    inputs = []
    for index in range(count):
        pool = [*RAW, *(f"params:{p}" for p in PARAMS), *(f"o{j}" for j in range(index))]
        inputs.append(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3,
                                    unique=True)))
    persisted = draw(st.lists(st.booleans(), min_size=count, max_size=count))
    return Spec(inputs, persisted, [0] * count)


edits = st.lists(st.tuples(st.sampled_from(["param", "body", "raw", "delete", "hand-edit"]),
                           st.integers(0, 5)), min_size=1, max_size=3)


class World:
    """The files, parameters and code of one random project, and a reference model of what
    each node last ran on."""

    def __init__(self, root: Path, spec: Spec) -> None:
        self.root, self.spec = root, spec
        self.params = {p: 0 for p in PARAMS}
        root.mkdir(parents=True, exist_ok=True)
        for name in RAW:
            (root / f"{name}.txt").write_text(name)
        self.store = ProvenanceStore(root / "provenance.db")
        self.last_key: dict[str, Any] = {}
        self.written: dict[str, str] = {}

    def pipeline(self) -> Pipeline:
        return Pipeline([node(compile_step(f"n{i}", self.spec.tags[i]), inputs, f"o{i}",
                              name=f"n{i}") for i, inputs in enumerate(self.spec.inputs)])

    def catalog(self) -> DataCatalog:
        catalog = DataCatalog({name: TextDataset(self.root / f"{name}.txt") for name in RAW})
        for i, persisted in enumerate(self.spec.persisted):
            if persisted:
                catalog.add(f"o{i}", TextDataset(self.root / f"o{i}.txt"))
        catalog.add_parameters(self.params)
        return catalog

    # the reference: plain tuples instead of hashes, contents instead of digests
    def key(self, i: int) -> Any:
        parts = []
        for name in self.spec.inputs[i]:
            if name.startswith("params:"):
                parts.append((name, self.params[name[7:]]))
            elif name in RAW:
                parts.append((name, (self.root / f"{name}.txt").read_text()))
            else:
                parts.append((name, self.key(int(name[1:]))))
        return (i, self.spec.tags[i], tuple(parts))

    def expected_run(self) -> set[str]:
        stale = set()
        for i, persisted in enumerate(self.spec.persisted):
            name = f"n{i}"
            path = self.root / f"o{i}.txt"
            if self.last_key.get(name) != self.key(i) or (
                    persisted and (not path.exists() or path.read_text() != self.written[name])):
                stale.add(name)
        running = set(stale)
        changed = True
        while changed:
            changed = False
            for i, inputs in enumerate(self.spec.inputs):
                if f"n{i}" not in running:
                    continue
                for name in inputs:
                    if name.startswith("o") and not self.spec.persisted[int(name[1:])]:
                        producer = f"n{name[1:]}"
                        if producer not in running:
                            running.add(producer)
                            changed = True
        return running

    def ran(self, names: set[str]) -> None:
        for name in names:
            i = int(name[1:])
            self.last_key[name] = self.key(i)
            if self.spec.persisted[i]:
                self.written[name] = (self.root / f"o{i}.txt").read_text()

    async def run(self, *, changed: bool) -> set[str]:
        catalog = self.catalog()
        pipe = self.pipeline()
        fingerprints = None
        if changed:
            selection, staleness = await select_changed(pipe, catalog, self.store)
            pipe, fingerprints = selection.pipeline, staleness.fingerprints
        await SequentialRunner().run(
            pipe, catalog, hooks=[ProvenanceRecorder(self.store, fingerprints=fingerprints)])
        names = {item.name for item in pipe.nodes}
        self.ran(names)
        return names

    def apply(self, kind: str, pick: int) -> None:
        count = len(self.spec.inputs)
        if kind == "param":
            self.params[PARAMS[pick % len(PARAMS)]] += 1
        elif kind == "body":
            self.spec.tags[pick % count] += 1
        elif kind == "raw":
            path = self.root / f"{RAW[pick % len(RAW)]}.txt"
            path.write_text(path.read_text() + "+")
        else:
            outputs = [i for i, persisted in enumerate(self.spec.persisted) if persisted]
            if not outputs:
                return
            path = self.root / f"o{outputs[pick % len(outputs)]}.txt"
            if kind == "delete":
                path.unlink(missing_ok=True)
            elif path.exists():
                path.write_text(path.read_text() + "#edited")

    def persisted_outputs(self) -> dict[str, str]:
        return {f"o{i}": (self.root / f"o{i}.txt").read_text()
                for i, persisted in enumerate(self.spec.persisted) if persisted}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=specs(), changes=st.lists(edits, min_size=1, max_size=3))
def test_random_edits_run_exactly_the_stale_nodes(spec: Spec, changes: list[Any]) -> None:
    async def scenario(root: Path) -> None:
        world = World(root / "project", spec)
        assert await world.run(changed=True) == {f"n{i}" for i in range(len(spec.inputs))}
        for step, batch in enumerate(changes):
            for kind, pick in batch:
                world.apply(kind, pick)
            expected = world.expected_run()
            assert await world.run(changed=True) == expected
            assert await world.run(changed=True) == set()  # now everything is fresh
            reference = World(root / f"full{step}",
                              Spec(spec.inputs, spec.persisted, list(spec.tags)))
            reference.params = dict(world.params)
            for name in RAW:
                (reference.root / f"{name}.txt").write_text(
                    (world.root / f"{name}.txt").read_text())
            await reference.run(changed=False)
            assert world.persisted_outputs() == reference.persisted_outputs()

    with tempfile.TemporaryDirectory() as folder:
        anyio.run(scenario, Path(folder))
