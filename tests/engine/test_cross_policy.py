"""Property: a random DAG gives the same outputs under every local policy as a plain
topological evaluation in the test.

Every example runs all three policies in the test's one event loop (pytest-asyncio runs all
of a ``@given`` test's examples in it), so ``ParallelRunner``'s worker processes start once
and are reused by every example.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import anyio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop import (
    AbstractDataset,
    DataCatalog,
    MemoryDataset,
    Node,
    ParallelRunner,
    Pipeline,
    SequentialRunner,
    ThreadRunner,
    node,
)
from pipeloop.testing import RecordingHooks, SlowDataset

MODULUS = 2**61 - 1
FREE_INPUTS = {"in0": 3, "in1": 5, "in2": 7}


def combine(index: int, n_out: int, *values: int) -> int | tuple[int, int]:
    """Deterministic, order-sensitive mix of the node's index and its inputs."""
    acc = index + 1
    for position, value in enumerate(values):
        acc = (acc * 31 + (position + 1) * value) % MODULUS
    return acc if n_out == 1 else (acc, (acc * 7 + 3) % MODULUS)


async def async_combine(index: int, n_out: int, *values: int) -> int | tuple[int, int]:
    await anyio.sleep(0)
    return combine(index, n_out, *values)


@dataclass
class Spec:
    """One node of a random DAG, as drawn."""

    index: int
    inputs: list[str]
    outputs: list[str]
    is_async: bool

    def make(self) -> Node:
        func = async_combine if self.is_async else combine
        outputs: str | list[str] = self.outputs[0] if len(self.outputs) == 1 else self.outputs
        return node(functools.partial(func, self.index, len(self.outputs)),
                    self.inputs or None, outputs, name=f"n{self.index}")


@dataclass
class Case:
    specs: list[Spec]
    registered: set[str]  # free outputs the catalog holds (saved there, not returned)
    slow: set[str]  # intermediate datasets that are not instant
    is_async: bool

    def pipeline(self) -> Pipeline:
        return Pipeline([spec.make() for spec in self.specs])

    def expected(self) -> dict[str, int]:
        """Evaluate the DAG in the order it was drawn (a topological order)."""
        values: dict[str, Any] = dict(FREE_INPUTS)
        for spec in self.specs:
            result = combine(spec.index, len(spec.outputs),
                             *(values[name] for name in spec.inputs))
            produced = [result] if len(spec.outputs) == 1 else list(result)  # type: ignore[arg-type]
            values.update(zip(spec.outputs, produced, strict=True))
        return values

    def catalog(self) -> DataCatalog:
        datasets: dict[str, AbstractDataset] = {
            name: MemoryDataset(value) for name, value in FREE_INPUTS.items()
        }
        for name in self.registered:
            datasets[name] = MemoryDataset()
        for name in self.slow:
            datasets[name] = SlowDataset(delay=0.001, label=name)
        return DataCatalog(datasets)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    size = draw(st.integers(1, 30))
    available = sorted(FREE_INPUTS)
    specs = []
    for index in range(size):
        inputs = draw(st.lists(st.sampled_from(available), max_size=4, unique=True))
        n_out = draw(st.sampled_from([1, 1, 2]))
        outputs = [f"d{index}"] if n_out == 1 else [f"d{index}a", f"d{index}b"]
        specs.append(Spec(index, inputs, outputs, draw(st.booleans())))
        available.extend(outputs)
    consumed = {name for spec in specs for name in spec.inputs}
    produced = [name for spec in specs for name in spec.outputs]
    free_outputs = [name for name in produced if name not in consumed]
    intermediates = [name for name in produced if name in consumed]
    registered = set(draw(st.lists(st.sampled_from(free_outputs), unique=True))
                     if free_outputs else [])
    slow = set(draw(st.lists(st.sampled_from(intermediates), max_size=5, unique=True))
               if intermediates else [])
    return Case(specs, registered, slow, draw(st.booleans()))


SEQUENTIAL = SequentialRunner()
THREADS = ThreadRunner(max_workers=4)
PROCESSES = ParallelRunner(max_workers=2)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(cases())
async def test_every_policy_matches_a_plain_evaluation(case: Case) -> None:
    pipeline = case.pipeline()
    values = case.expected()
    free_outputs = pipeline.outputs()
    want_returned = {name: values[name] for name in free_outputs - case.registered}
    want_saved = {name: values[name] for name in case.registered}

    for runner in (SEQUENTIAL, THREADS, PROCESSES):
        runner.is_async = case.is_async
        catalog = case.catalog()
        hooks = RecordingHooks()
        returned = await runner.run(pipeline, catalog, hooks=[hooks])
        assert returned == want_returned, runner
        saved = {name: await catalog.load(name) for name in case.registered}
        assert saved == want_saved, runner
        ran = [call.subject for call in hooks.named("after_node_run")]
        assert sorted(ran) == sorted(n.name for n in pipeline.nodes), runner
        if runner is SEQUENTIAL:
            assert ran == [n.name for n in pipeline.nodes]
