"""Random DAGs under every policy: the engine computes what a plain loop computes.

Each example is a DAG of up to 60 nodes, plain and ``async def`` functions mixed, whose
datasets are JSON files, registered ``MemoryDataset``s or left to the runner's defaults.
Every node mixes its inputs into a value that records where it came from, so a wrong
wiring, a lost update or cross-talk between nodes changes the final values.

With a node made to fail (its index is in the ``params:fail_at`` parameter), the run must
leave only whole files, with the right contents; every node upstream of the failure must have
saved its outputs; and running ``from_nodes`` the resume advice in a fresh catalog (as a new
process would: memory data gone) must finish the pipeline with the clean run's outputs.
"""

from __future__ import annotations

import inspect
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from pipeloop import DataCatalog, MemoryDataset, Pipeline, node
from pipeloop.datasets import JSONDataset
from pipeloop.engine.resume import nodes_to_resume_from
from pipeloop.errors import NodesFailedError

POLICIES = ("sequential", "thread", "process")
MAX_NODES = 60

SETTINGS = settings(
    max_examples=8,
    deadline=None,
    derandomize=True,
    database=None,
    phases=(Phase.explicit, Phase.generate),  # no shrinking: it can outlast the test timeout
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class InjectedFault(RuntimeError):
    """The failure a node raises when its index is in ``params:fail_at``."""


# -- node functions (module level: ParallelRunner workers import them by name) -----------


def _mix(index: int, position: int, inputs: tuple[dict[str, int], ...]) -> dict[str, int]:
    digest = index * 1_000_003 + position
    for value in inputs:
        digest = (digest * 31 + value["v"]) % (2**61 - 1)
    return {"node": index, "out": position, "v": digest}


def _result(index: int, n_out: int, fail_at: list[int], inputs: tuple[Any, ...]) -> Any:
    if index in fail_at:
        raise InjectedFault(f"injected fault in node n{index}")
    values = [_mix(index, position, inputs) for position in range(n_out)]
    return values[0] if n_out == 1 else values


def compute(index: int, n_out: int, fail_at: list[int], *inputs: dict[str, int]) -> Any:
    return _result(index, n_out, fail_at, inputs)


async def compute_async(index: int, n_out: int, fail_at: list[int], *inputs: dict[str, int]) -> Any:
    await anyio.sleep(0)  # let other nodes interleave
    return _result(index, n_out, fail_at, inputs)


# -- the DAG -----------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSpec:
    index: int
    inputs: tuple[str, ...]
    n_out: int
    is_async: bool

    @property
    def name(self) -> str:
        return f"n{self.index}"

    @property
    def outputs(self) -> tuple[str, ...]:
        return tuple(f"d{self.index}_{position}" for position in range(self.n_out))


@dataclass(frozen=True)
class DagSpec:
    """A DAG; ``nodes`` are in a topological order (inputs come from earlier nodes)."""

    seeds: tuple[int, ...]
    nodes: tuple[NodeSpec, ...]
    kinds: tuple[tuple[str, str], ...]  # dataset -> "file" | "memory" | "default"

    @property
    def kind(self) -> dict[str, str]:
        return dict(self.kinds)

    def seed_names(self) -> list[str]:
        return [f"seed{k}" for k in range(len(self.seeds))]

    def terminals(self) -> set[str]:
        read = {name for spec in self.nodes for name in spec.inputs}
        return {name for spec in self.nodes for name in spec.outputs if name not in read}

    def with_terminals_persisted(self) -> DagSpec:
        """The same DAG with every terminal dataset a file: what a run produced then
        survives its failure, so the final state can be checked after a resume."""
        terminals = self.terminals()
        kinds = tuple((name, "file" if name in terminals else kind) for name, kind in self.kinds)
        return DagSpec(self.seeds, self.nodes, kinds)

    def descendants(self, indices: set[int]) -> set[int]:
        """Indices of nodes downstream of any of ``indices`` (those of ``indices`` too, when
        they are downstream of another)."""
        tainted = {out for spec in self.nodes if spec.index in indices for out in spec.outputs}
        found = set()
        for spec in self.nodes:  # topological order: parents are seen first
            if tainted & set(spec.inputs):
                found.add(spec.index)
                tainted |= set(spec.outputs)
        return found

    def ancestors(self, index: int) -> set[int]:
        producer = {out: spec for spec in self.nodes for out in spec.outputs}
        stack = [name for name in self.nodes[index].inputs]
        found: set[int] = set()
        while stack:
            parent = producer.get(stack.pop())
            if parent is not None and parent.index not in found:
                found.add(parent.index)
                stack.extend(parent.inputs)
        return found


@st.composite
def dag_specs(draw: st.DrawFn, max_nodes: int = MAX_NODES) -> DagSpec:
    seeds = tuple(draw(st.lists(st.integers(0, 10**9), min_size=1, max_size=3)))
    available = [f"seed{k}" for k in range(len(seeds))]
    size = draw(st.integers(1, max_nodes))
    nodes = []
    kinds = []
    for index in range(size):
        # Counting back from the newest dataset: small numbers make chains, large ones fans.
        backs = draw(st.lists(st.integers(1, len(available)), max_size=3, unique=True))
        inputs = tuple(available[len(available) - back] for back in backs)
        spec = NodeSpec(index, inputs, draw(st.sampled_from((1, 1, 2))), draw(st.booleans()))
        nodes.append(spec)
        for name in spec.outputs:
            kinds.append((name, draw(st.sampled_from(("default", "memory", "file")))))
        available.extend(spec.outputs)
    event("nodes", f"{(size - 1) // 15 * 15 + 1}-{(size - 1) // 15 * 15 + 15}")
    return DagSpec(seeds, tuple(nodes), tuple(kinds))


def seed_value(position: int, seed: int) -> dict[str, int]:
    return {"node": -1, "out": position, "v": seed}


def build_pipeline(spec: DagSpec) -> Pipeline:
    return Pipeline(
        node(
            partial(compute_async if item.is_async else compute, item.index, item.n_out),
            ["params:fail_at", *item.inputs],
            item.outputs[0] if item.n_out == 1 else list(item.outputs),
            name=item.name,
        )
        for item in spec.nodes
    )


def build_catalog(spec: DagSpec, root: Path, fail_at: list[int]) -> DataCatalog:
    """A fresh catalog: new dataset objects over the files in ``root``, empty memory."""
    catalog = DataCatalog({
        name: MemoryDataset(seed_value(position, seed))
        for position, (name, seed) in enumerate(zip(spec.seed_names(), spec.seeds, strict=True))
    })
    for name, kind in spec.kinds:
        if kind == "file":
            catalog.add(name, JSONDataset(root / f"{name}.json"))
        elif kind == "memory":
            catalog.add(name, MemoryDataset())
    catalog.add_parameters({"fail_at": fail_at})
    return catalog


async def evaluate(spec: DagSpec) -> dict[str, Any]:
    """Every dataset's value, by calling the functions in a plain loop: no engine."""
    values: dict[str, Any] = {
        name: seed_value(position, seed)
        for position, (name, seed) in enumerate(zip(spec.seed_names(), spec.seeds, strict=True))
    }
    for item in spec.nodes:
        function = compute_async if item.is_async else compute
        result = function(item.index, item.n_out, [], *(values[name] for name in item.inputs))
        if inspect.isawaitable(result):
            result = await result
        values.update(zip(item.outputs, [result] if item.n_out == 1 else result, strict=True))
    return values


def fresh_folder(tmp_path: Path, label: str) -> Path:
    """An empty folder for one run (hypothesis reuses ``tmp_path`` across examples)."""
    root = tmp_path / label
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir()
    return root


def files_of(spec: DagSpec, root: Path) -> dict[str, bytes]:
    return {
        name: (root / f"{name}.json").read_bytes()
        for name, kind in spec.kinds
        if kind == "file" and (root / f"{name}.json").exists()
    }


def assert_files_right(spec: DagSpec, root: Path, expected: dict[str, Any]) -> None:
    """Every file that exists holds exactly its dataset's value."""
    for name, content in files_of(spec, root).items():
        assert json.loads(content) == expected[name], f"{name}.json holds the wrong data"


def file_outputs(spec: DagSpec, indices: set[int]) -> set[str]:
    kind = spec.kind
    return {
        name for item in spec.nodes if item.index in indices
        for name in item.outputs if kind[name] == "file"
    }


# -- clean runs --------------------------------------------------------------------------


@SETTINGS
@given(spec=dag_specs())
async def test_every_policy_gives_what_a_plain_evaluation_gives(
    spec: DagSpec, tmp_path: Path, runner_of: Callable[..., Any],
    assert_whole_files: Callable[[Path], None],
) -> None:
    expected = await evaluate(spec)
    pipeline = build_pipeline(spec)
    kind = spec.kind
    files_by_policy = {}
    for policy in POLICIES:
        root = fresh_folder(tmp_path, policy)
        catalog = build_catalog(spec, root, fail_at=[])

        result = await runner_of(policy).run(pipeline, catalog)

        free = {name for name in spec.terminals() if kind[name] == "default"}
        assert result == {name: expected[name] for name in free}, policy
        for name in spec.terminals():
            if kind[name] == "memory":
                assert await catalog.load(name) == expected[name], (policy, name)
        assert set(files_of(spec, root)) == {n for n, k in spec.kinds if k == "file"}
        assert_files_right(spec, root, expected)
        assert_whole_files(root)
        files_by_policy[policy] = files_of(spec, root)
    assert files_by_policy["thread"] == files_by_policy["sequential"]
    assert files_by_policy["process"] == files_by_policy["sequential"]


# -- failures and resume -----------------------------------------------------------------


async def resume_and_check(
    spec: DagSpec, root: Path, runner: Any, resume_nodes: list[str], expected: dict[str, Any],
) -> None:
    """Run ``from_nodes(*resume_nodes)`` in a fresh catalog; the pipeline must end as a clean
    run would (every terminal is a file here, so the files say it all)."""
    pipeline = build_pipeline(spec)
    assert resume_nodes, "a failed run must advise where to resume"
    result = await runner.run(pipeline.from_nodes(*resume_nodes), build_catalog(spec, root, []))
    assert result == {}  # every output is a file or a registered memory dataset
    files = files_of(spec, root)
    assert spec.terminals() <= set(files), "the resume run left outputs unproduced"
    assert_files_right(spec, root, expected)


@SETTINGS
@given(spec=dag_specs(), choice=st.integers(0, MAX_NODES - 1))
async def test_fail_fast_leaves_whole_files_and_the_advice_resumes(
    spec: DagSpec, choice: int, tmp_path: Path, runner_of: Callable[..., Any],
    assert_whole_files: Callable[[Path], None], completion_recorder: Any, resume_advice: Any,
) -> None:
    spec = spec.with_terminals_persisted()
    failing = spec.nodes[choice % len(spec.nodes)]
    expected = await evaluate(spec)
    pipeline = build_pipeline(spec)
    for policy in POLICIES:
        root = fresh_folder(tmp_path, policy)
        runner = runner_of(policy)
        catalog = build_catalog(spec, root, fail_at=[failing.index])
        recorder = completion_recorder()

        with resume_advice() as log, pytest.raises(InjectedFault) as caught:
            await runner.run(pipeline, catalog, hooks=[recorder])

        assert any(f"'{failing.name}'" in note for note in caught.value.__notes__)
        assert_whole_files(root)
        assert_files_right(spec, root, expected)
        written = set(files_of(spec, root))
        upstream = spec.ancestors(failing.index)
        assert file_outputs(spec, upstream) <= written, "an upstream node's output is missing"
        completed = {item.name for item in recorder.completed(pipeline.nodes)}
        assert all(f"n{index}" in completed for index in upstream)
        never_ran = spec.descendants({failing.index}) | {failing.index}
        assert not file_outputs(spec, never_ran) & written, "a node after the failure saved"
        # What the hooks saw unfinished must be re-run by the advice the runner logged (which
        # may also re-run a node cancelled after its last save: harmless, outputs are equal).
        needed = nodes_to_resume_from(pipeline.nodes, recorder.unfinished(pipeline.nodes),
                                      catalog)
        (logged,) = log.advice
        assert set(pipeline.from_nodes(*needed).nodes) <= set(pipeline.from_nodes(*logged).nodes)

        await resume_and_check(spec, root, runner, logged, expected)
        assert_whole_files(root)


@SETTINGS
@given(spec=dag_specs(), choices=st.lists(st.integers(0, MAX_NODES - 1), min_size=1, max_size=3))
async def test_keep_going_runs_all_it_can_and_its_resume_nodes_finish(
    spec: DagSpec, choices: list[int], tmp_path: Path, runner_of: Callable[..., Any],
    assert_whole_files: Callable[[Path], None], completion_recorder: Any,
) -> None:
    spec = spec.with_terminals_persisted()
    failing = {spec.nodes[choice % len(spec.nodes)].index for choice in choices}
    skipped = spec.descendants(failing)
    first_failures = failing - skipped  # a failing node downstream of another never runs
    expected = await evaluate(spec)
    pipeline = build_pipeline(spec)
    for policy in POLICIES:
        root = fresh_folder(tmp_path, policy)
        runner = runner_of(policy)
        recorder = completion_recorder()

        with pytest.raises(NodesFailedError) as caught:
            await runner.run(pipeline, build_catalog(spec, root, sorted(failing)),
                             hooks=[recorder], keep_going=True)

        error = caught.value
        assert sorted(error.failed_nodes) == sorted(f"n{i}" for i in first_failures)
        assert all(isinstance(exc, InjectedFault) for exc in error.exceptions)
        assert not recorder.started & {f"n{i}" for i in skipped}, "a skipped node started"
        assert_whole_files(root)
        assert_files_right(spec, root, expected)
        written = set(files_of(spec, root))
        healthy = {item.index for item in spec.nodes} - skipped - first_failures
        assert file_outputs(spec, healthy) <= written, "keep_going skipped a healthy node"
        assert not file_outputs(spec, skipped | first_failures) & written

        await resume_and_check(spec, root, runner, error.resume_nodes, expected)
        assert_whole_files(root)
