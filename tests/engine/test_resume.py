"""Resume advice (``pipeloop.engine.resume``): which nodes ``--from-nodes`` must start from
after a run stopped part-way, so that the resumed run has all the data it needs."""

from __future__ import annotations

import functools
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from pipeloop import (
    AbstractDataset,
    DataCatalog,
    LambdaDataset,
    MemoryDataset,
    Node,
    Pipeline,
    SequentialRunner,
    ThreadRunner,
    node,
)
from pipeloop.engine.resume import nodes_to_resume_from, resume_command
from pipeloop.errors import NodesFailedError


class Disk:
    """Stands in for storage that outlives the process: ``LambdaDataset`` entries over a
    dict that the test keeps between "processes"."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def dataset(self, name: str) -> LambdaDataset:
        return LambdaDataset(
            load=functools.partial(self.data.__getitem__, name),
            save=functools.partial(self.data.__setitem__, name),
            exists=functools.partial(self.data.__contains__, name),
        )


def combine(*values: int) -> int:
    return sum(values) + 1


def advice(pipeline: Pipeline, unfinished: list[str], catalog: DataCatalog) -> list[str]:
    by_name = {n.name: n for n in pipeline.nodes}
    return nodes_to_resume_from(pipeline.nodes, [by_name[name] for name in unfinished], catalog)


def chain() -> Pipeline:
    """x -> n1 -> a -> n2 -> b -> n3 -> c -> n4 -> d"""
    return Pipeline([
        node(combine, "x", "a", name="n1"),
        node(combine, "a", "b", name="n2"),
        node(combine, "b", "c", name="n3"),
        node(combine, "c", "d", name="n4"),
    ])


def test_walks_upstream_through_memory_data_to_the_start() -> None:
    catalog = DataCatalog({"x": MemoryDataset(0)})
    assert advice(chain(), ["n4"], catalog) == ["n1"]


def test_stops_at_persisted_data() -> None:
    disk = Disk()
    catalog = DataCatalog({"x": MemoryDataset(0), "b": disk.dataset("b")})
    assert advice(chain(), ["n4"], catalog) == ["n3"]
    assert advice(chain(), ["n3", "n4"], catalog) == ["n3"]
    assert advice(chain(), ["n2", "n3", "n4"], catalog) == ["n1"]


def test_persisted_input_of_the_unfinished_node_itself() -> None:
    disk = Disk()
    catalog = DataCatalog({"x": MemoryDataset(0), "c": disk.dataset("c")})
    assert advice(chain(), ["n4"], catalog) == ["n4"]


def test_free_inputs_end_the_walk() -> None:
    catalog = DataCatalog({"x": MemoryDataset(0)})  # a free input, even if in memory
    assert advice(chain(), ["n1", "n2"], catalog) == ["n1"]


def test_minimal_start_set_over_branches() -> None:
    """Two failed branches give one start each; nothing downstream of a start is named."""
    disk = Disk()
    pipeline = Pipeline([
        node(combine, "x", "a", name="root"),
        node(combine, "a", "b", name="left_1"),
        node(combine, "b", "c", name="left_2"),
        node(combine, "a", "d", name="right_1"),
        node(combine, "d", "e", name="right_2"),
        node(combine, ["c", "e"], "f", name="join"),
    ])
    catalog = DataCatalog({"x": MemoryDataset(0), "a": disk.dataset("a"),
                           "d": disk.dataset("d")})
    assert advice(pipeline, ["left_2", "right_2", "join"], catalog) == ["left_1", "right_2"]


def test_resume_command_format() -> None:
    assert resume_command(["a", "b"]) == '--from-nodes "a,b"'
    assert resume_command([]) == '--from-nodes ""'


def fail_once(flags: dict[str, bool], value: int) -> int:
    if not flags.get("fixed"):
        raise RuntimeError("transient")
    return value + 1


async def test_resuming_from_the_advice_completes_the_pipeline() -> None:
    """Fail a run, then run ``from_nodes(advice)`` as a new process would: with only the
    persisted data left. The final outputs equal those of a clean run."""
    flags: dict[str, bool] = {}
    pipeline = Pipeline([
        node(combine, "x", "a", name="n1"),
        node(combine, "a", "b", name="n2"),
        node(functools.partial(fail_once, flags), "b", "c", name="n3"),
        node(combine, "c", "d", name="n4"),
        node(combine, ["d", "a"], "e", name="n5"),
    ])
    disk = Disk()

    def catalog() -> DataCatalog:
        return DataCatalog({"x": MemoryDataset(1), "b": disk.dataset("b"),
                            "e": disk.dataset("e")})

    with pytest.raises(RuntimeError):
        await SequentialRunner().run(pipeline, catalog())
    # n5 reads "a" from memory, so the walk reaches n1 through it; from n1, n3 is re-run too.
    resume = advice(pipeline, ["n3", "n4", "n5"], catalog())
    assert resume == ["n1"]
    flags["fixed"] = True
    await SequentialRunner().run(pipeline.from_nodes(*resume), catalog())
    assert disk.data["e"] == 2 + 6  # a = 2, b = 3, c = 4, d = 5, e = 5 + 2 + 1


def w_node() -> int:
    return 10


def s_node() -> tuple[int, int]:
    return 1, 2


def u_node(s: int) -> int:
    raise RuntimeError("u failed")


def x_node(t: int, w: int) -> int:
    return t + w


async def test_resume_advice_after_keep_going_gives_a_runnable_pipeline() -> None:
    pipeline = Pipeline([
        node(w_node, None, "w", name="W"),
        node(s_node, None, ["s", "t"], name="S"),
        node(u_node, "s", "u", name="U"),
        node(x_node, ["t", "w"], "x", name="X"),
    ])
    disk = Disk()

    def catalog() -> DataCatalog:
        return DataCatalog({"x": disk.dataset("x"), "u": disk.dataset("u")})

    with pytest.raises(NodesFailedError) as caught:
        await ThreadRunner().run(pipeline, catalog(), keep_going=True)
    assert caught.value.failed_nodes == ["U"]
    resumed = pipeline.from_nodes(*caught.value.resume_nodes)
    # Every input of the resumed pipeline must be available to a new process.
    assert resumed.inputs() <= set(disk.data) | {"x", "u"}


# -- properties over random DAGs ---------------------------------------------------------------


@st.composite
def dags_with_failures(draw: st.DrawFn) -> tuple[Pipeline, set[str], set[str]]:
    """A random DAG; which of its datasets are persisted; a downstream-closed set of
    unfinished nodes (as a real failed run leaves)."""
    size = draw(st.integers(1, 14))
    nodes: list[Node] = []
    available = ["in0", "in1"]
    for i in range(size):
        inputs = draw(st.lists(st.sampled_from(available), max_size=3, unique=True))
        nodes.append(node(combine, inputs or None, f"d{i}", name=f"n{i}"))
        available.append(f"d{i}")
    pipeline = Pipeline(nodes)
    persisted = {f"d{i}" for i in range(size) if draw(st.booleans())}
    seeds = draw(st.lists(st.sampled_from([n.name for n in nodes]), min_size=1, unique=True))
    unfinished = {n.name for n in pipeline.from_nodes(*seeds).nodes}
    return pipeline, persisted, unfinished


def property_catalog(pipeline: Pipeline, persisted: set[str]) -> DataCatalog:
    disk = Disk()
    datasets: dict[str, AbstractDataset] = {"in0": MemoryDataset(0), "in1": MemoryDataset(1)}
    for name in pipeline.all_outputs():
        datasets[name] = disk.dataset(name) if name in persisted else MemoryDataset()
    return DataCatalog(datasets)


@settings(max_examples=200, deadline=None)
@given(dags_with_failures())
def test_from_nodes_of_the_advice_covers_every_unfinished_node(
    case: tuple[Pipeline, set[str], set[str]],
) -> None:
    pipeline, persisted, unfinished = case
    result = advice(pipeline, sorted(unfinished), property_catalog(pipeline, persisted))
    assert result == sorted(result)
    resumed = {n.name for n in pipeline.from_nodes(*result).nodes}
    assert unfinished <= resumed
    # Each start is needed: unfinished itself, or the producer of memory data that a
    # resumed node reads.
    for start in result:
        producer = pipeline.nodes[[n.name for n in pipeline.nodes].index(start)]
        memory_outputs = set(producer.outputs) - persisted
        readers = {n.name for n in pipeline.nodes if memory_outputs & set(n.inputs)}
        assert start in unfinished or readers & resumed


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          phases=[Phase.generate])  # no shrinking: the failure is expected, keep it fast
@given(dags_with_failures())
def test_every_node_the_advice_reruns_has_its_inputs(
    case: tuple[Pipeline, set[str], set[str]],
) -> None:
    pipeline, persisted, unfinished = case
    result = advice(pipeline, sorted(unfinished), property_catalog(pipeline, persisted))
    resumed = pipeline.from_nodes(*result)
    # What the resumed run reads but does not make must be persisted (or a free input).
    assert resumed.inputs() - {"in0", "in1"} <= persisted
