"""``Pipeline`` and ``pipeline()`` through their public API."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeloop.engine.node import Node, node
from pipeloop.engine.pipeline import Pipeline, pipeline
from pipeloop.errors import PipelineError


def identity(x: Any) -> Any:
    return x


def combine(*values: Any) -> Any:
    return values


def mean(xs: list[float], n: int) -> float:
    return sum(xs) / n


def mean_sos(xs: list[float], n: int) -> float:
    return sum(x**2 for x in xs) / n


def variance(m: float, m2: float) -> float:
    return m2 - m * m


def names(pipe: Pipeline) -> list[str]:
    return [item.name for item in pipe.nodes]


@pytest.fixture
def variance_pipeline() -> Pipeline:
    """Kedro's "running pipelines" example."""
    return Pipeline([
        node(len, "xs", "n", name="len_node"),
        node(mean, ["xs", "n"], "m", name="mean_node"),
        node(mean_sos, ["xs", "n"], "m2", name="mean_sos"),
        node(variance, ["m", "m2"], "v", name="variance_node"),
    ])


@pytest.fixture
def diamond() -> Pipeline:
    """a -> (b, c) -> d, plus an unrelated node e; with tags and parameters."""
    return Pipeline([
        node(identity, "raw", "a_out", name="a", tags="ingest"),
        node(combine, ["a_out", "params:k"], "b_out", name="b", tags=["model"]),
        node(identity, "a_out", "c_out", name="c", tags=["model", "report"]),
        node(combine, ["b_out", "c_out"], "d_out", name="d", tags="report"),
        node(identity, "other", "e_out", name="e"),
    ])


# -- the running example -----------------------------------------------------------------------


def test_kedro_running_example(variance_pipeline: Pipeline) -> None:
    assert len(variance_pipeline) == 4
    assert variance_pipeline.inputs() == {"xs"}
    assert variance_pipeline.outputs() == {"v"}
    assert variance_pipeline.all_inputs() == {"xs", "n", "m", "m2"}
    assert variance_pipeline.all_outputs() == {"n", "m", "m2", "v"}
    assert variance_pipeline.datasets() == {"xs", "n", "m", "m2", "v"}
    assert names(variance_pipeline) == ["len_node", "mean_node", "mean_sos", "variance_node"]
    grouped = [[item.name for item in layer] for layer in variance_pipeline.grouped_nodes]
    assert grouped == [["len_node"], ["mean_node", "mean_sos"], ["variance_node"]]


def test_nodes_can_run_in_pipeline_order(variance_pipeline: Pipeline) -> None:
    data: dict[str, Any] = {"xs": [1.0, 2.0, 3.0]}
    for item in variance_pipeline.nodes:
        data.update(item.run({name: data[name] for name in item.inputs}))
    assert data["v"] == pytest.approx(2 / 3)


def test_parameters_are_free_inputs(diamond: Pipeline) -> None:
    assert diamond.inputs() == {"raw", "params:k", "other"}
    assert diamond.outputs() == {"d_out", "e_out"}


def test_returned_collections_are_copies(variance_pipeline: Pipeline) -> None:
    variance_pipeline.nodes.clear()
    variance_pipeline.inputs().add("junk")
    variance_pipeline.consumers("xs").clear()
    dependencies = variance_pipeline.node_dependencies
    for parents in dependencies.values():
        parents.clear()
    dependencies.clear()
    assert len(variance_pipeline) == 4
    assert sum(map(len, variance_pipeline.node_dependencies.values())) == 4
    assert variance_pipeline.inputs() == {"xs"}
    assert len(variance_pipeline.consumers("xs")) == 3


def test_scheduler_views(variance_pipeline: Pipeline) -> None:
    by_name = {item.name: item for item in variance_pipeline.nodes}
    assert variance_pipeline.producer("m") is by_name["mean_node"]
    assert variance_pipeline.producer("xs") is None
    assert variance_pipeline.producer("unknown") is None
    assert [item.name for item in variance_pipeline.consumers("xs")] == [
        "len_node", "mean_node", "mean_sos"
    ]
    assert variance_pipeline.consumers("v") == []
    dependencies = variance_pipeline.node_dependencies
    assert dependencies[by_name["len_node"]] == set()
    assert dependencies[by_name["mean_node"]] == {by_name["len_node"]}
    assert dependencies[by_name["variance_node"]] == {by_name["mean_node"], by_name["mean_sos"]}


def test_grouped_nodes_are_layers_sorted_by_name() -> None:
    pipe = Pipeline([
        node(identity, "r1", "a_out", name="a"),
        node(identity, "r2", "z_out", name="z"),
        node(identity, "a_out", "y_out", name="y"),
        node(identity, "z_out", "b_out", name="b"),
        node(combine, ["y_out", "a_out"], "c_out", name="c"),
    ])
    assert names(pipe) == ["a", "y", "c", "z", "b"]
    grouped = [[item.name for item in layer] for layer in pipe.grouped_nodes]
    assert grouped == [["a", "z"], ["b", "y"], ["c"]]


def test_consumer_listed_once_when_input_repeats() -> None:
    pipe = Pipeline([node(variance, {"m": "x", "m2": "x"}, "y", name="twice")])
    assert [item.name for item in pipe.consumers("x")] == ["twice"]


# -- construction ----------------------------------------------------------------------------


def test_nested_pipelines_are_flattened_and_duplicates_dropped() -> None:
    first = node(identity, "a", "b", name="first")
    second = node(identity, "b", "c", name="second")
    pipe = Pipeline([first, Pipeline([second, first]), first])
    assert names(pipe) == ["first", "second"]


def test_pipeline_accepts_pipeline_and_generator() -> None:
    inner = Pipeline([node(identity, "a", "b", name="n")])
    assert Pipeline(inner) == inner
    assert len(Pipeline(item for item in inner.nodes)) == 1


def test_identical_nodes_merge_tags_regardless_of_order() -> None:
    plain = node(identity, "a", "b", name="n", tags="x")
    tagged = plain.tag("y")
    for items in ([plain, tagged], [tagged, plain]):
        pipe = Pipeline(items)
        assert len(pipe) == 1
        assert pipe.nodes[0].tags == {"x", "y"}


def test_tags_argument_tags_every_node(variance_pipeline: Pipeline) -> None:
    tagged = Pipeline([variance_pipeline], tags=["t1", "t2"])
    assert all(item.tags == {"t1", "t2"} for item in tagged.nodes)
    assert all(item.tags == set() for item in variance_pipeline.nodes)
    assert all("t3" in item.tags for item in tagged.tag("t3").nodes)


def test_empty_pipeline() -> None:
    pipe = Pipeline([])
    assert len(pipe) == 0
    assert pipe.nodes == []
    assert pipe.inputs() == set()
    assert pipe.grouped_nodes == []


def test_duplicate_node_names_are_an_error() -> None:
    with pytest.raises(PipelineError, match="unique names") as info:
        Pipeline([
            node(identity, "a", "b", name="twin"),
            node(identity, "b", "c", name="twin"),
            node(identity, "c", "d", name="pair"),
            node(identity, "d", "e", name="pair"),
            node(identity, "e", "f", name="single"),
        ])
    message = str(info.value)
    assert "more than one node: pair, twin." in message
    assert "single" not in message


def test_duplicate_outputs_are_an_error_naming_dataset_and_nodes() -> None:
    with pytest.raises(PipelineError) as info:
        Pipeline([
            node(identity, "a", "out", name="first"),
            node(identity, "b", "out", name="second"),
            node(identity, "c", "fine", name="third"),
        ])
    message = str(info.value)
    assert "Datasets are outputs of more than one node: 'out' by first, second." in message
    assert "third" not in message


def test_cycle_is_an_error_naming_the_nodes_in_it() -> None:
    with pytest.raises(PipelineError) as info:
        Pipeline([
            node(identity, "start", "s", name="entry"),
            node(combine, ["s", "z_out"], "x_out", name="x"),
            node(identity, "x_out", "y_out", name="y"),
            node(identity, "y_out", "z_out", name="z"),
            node(identity, "z_out", "after", name="after_cycle"),
        ])
    message = str(info.value)
    assert message == "Circular dependencies exist among these nodes: x, y, z."


@pytest.mark.parametrize(
    ("items", "fragment"),
    [
        ([node(identity, "a", "b"), 42], "not int: 42"),
        (["not a node"], "not str: 'not a node'"),
        (node(identity, "a", "b"), "takes a list of nodes and pipelines, not Node"),
        ("abc", "not str"),
        (None, "not NoneType"),
    ],
)
def test_items_that_are_not_nodes_are_an_error(items: Any, fragment: str) -> None:
    with pytest.raises(PipelineError) as info:
        Pipeline(items)
    assert fragment in str(info.value)


def test_order_is_deterministic_under_shuffles() -> None:
    items = [
        node(identity, "raw", "clean", name="zeta"),
        node(identity, "clean", "features", name="alpha"),
        node(identity, "clean", "stats", name="mid"),
        node(identity, "other", "unrelated", name="beta"),
        node(combine, ["features", "stats"], "model", name="omega"),
    ]
    expected = ["beta", "zeta", "alpha", "mid", "omega"]
    rng = random.Random(0)
    for _ in range(20):
        rng.shuffle(items)
        assert names(Pipeline(items)) == expected


@pytest.mark.parametrize("shape", ["chain", "fan"])
def test_ten_thousand_nodes(shape: str) -> None:
    size = 10_000
    if shape == "chain":
        items = [node(identity, f"d{i}", f"d{i + 1}", name=f"n{i:05d}") for i in range(size)]
    else:
        items = [node(identity, "root", f"d{i}", name=f"n{i:05d}") for i in range(size)]
    items.reverse()
    pipe = Pipeline(items)
    assert len(pipe) == size
    assert names(pipe) == [f"n{i:05d}" for i in range(size)]
    assert len(pipe.grouped_nodes) == (size if shape == "chain" else 1)
    assert len(pipe.from_nodes("n05000")) == (5_000 if shape == "chain" else 1)


# -- describe and dunders ------------------------------------------------------------------------


def test_describe(variance_pipeline: Pipeline) -> None:
    assert variance_pipeline.describe() == (
        "#### Pipeline execution order ####\n"
        "Inputs: xs\n"
        "\n"
        "len_node\n"
        "mean_node\n"
        "mean_sos\n"
        "variance_node\n"
        "\n"
        "Outputs: v\n"
        "##################################"
    )


def test_describe_full_and_sorted_inputs() -> None:
    pipe = Pipeline([node(combine, ["xs", "params:x"], "v", name="calc")])
    assert pipe.describe(names_only=False) == (
        "#### Pipeline execution order ####\n"
        "Inputs: params:x, xs\n\n"
        "combine([xs,params:x]) -> [v]\n\n"
        "Outputs: v\n"
        "##################################"
    )


def test_describe_without_inputs_or_outputs() -> None:
    text = Pipeline([node(combine, None, None, name="calc")]).describe()
    assert "Inputs: None\n" in text
    assert "Outputs: None\n" in text


def test_repr_lists_nodes() -> None:
    pipe = Pipeline([node(identity, "a", "b", name="n")])
    assert repr(pipe) == "Pipeline([\nNode(identity, 'a', 'b', 'n')\n])"


def test_equality_is_same_set_of_nodes(variance_pipeline: Pipeline) -> None:
    reordered = Pipeline(list(reversed(variance_pipeline.nodes)))
    assert reordered == variance_pipeline
    assert variance_pipeline != variance_pipeline.only_nodes("len_node")
    assert variance_pipeline != variance_pipeline.nodes
    assert not hasattr(Pipeline, "__iter__")


# -- filters -------------------------------------------------------------------------------------


def test_only_nodes(diamond: Pipeline) -> None:
    assert names(diamond.only_nodes("d", "a")) == ["a", "d"]


def test_unknown_node_names_suggest_close_matches(diamond: Pipeline) -> None:
    pipe = Pipeline([node(identity, "a", "b", name="mean_node"), node(identity, "x", "y")])
    with pytest.raises(PipelineError) as info:
        pipe.only_nodes("mean_nod", "mean_node")
    message = str(info.value)
    assert message.startswith("Pipeline does not contain nodes named: mean_nod.")
    assert "Did you mean: mean_node?" in message
    for method in (diamond.from_nodes, diamond.to_nodes, diamond.only_nodes):
        with pytest.raises(PipelineError, match="does not contain nodes named: zzz"):
            method("a", "zzz")


def test_only_nodes_with_tags_keeps_any_tag(diamond: Pipeline) -> None:
    assert names(diamond.only_nodes_with_tags("ingest", "report")) == ["a", "c", "d"]
    assert names(diamond.only_nodes_with_tags("model")) == ["b", "c"]
    assert len(diamond.only_nodes_with_tags("absent")) == 0


def test_only_nodes_with_namespace() -> None:
    pipe = Pipeline([
        node(identity, "a", "b", name="n1", namespace="data"),
        node(identity, "b", "c", name="n2", namespace="data.inner"),
        node(identity, "c", "d", name="n3", namespace="database"),
        node(identity, "d", "e", name="n4"),
    ])
    assert names(pipe.only_nodes_with_namespace("data")) == ["data.n1", "data.inner.n2"]
    assert names(pipe.only_nodes_with_namespace("data.inner")) == ["data.inner.n2"]
    with pytest.raises(PipelineError, match=r"no nodes in namespace: dta\. Did you mean: data"):
        pipe.only_nodes_with_namespace("dta")


def test_from_nodes_is_downstream_closure(diamond: Pipeline) -> None:
    assert names(diamond.from_nodes("b")) == ["b", "d"]
    assert names(diamond.from_nodes("a")) == ["a", "b", "c", "d"]
    assert names(diamond.from_nodes("b", "e")) == ["b", "d", "e"]


def test_to_nodes_is_upstream_closure(diamond: Pipeline) -> None:
    assert names(diamond.to_nodes("b")) == ["a", "b"]
    assert names(diamond.to_nodes("d")) == ["a", "b", "c", "d"]
    assert names(diamond.to_nodes("e")) == ["e"]


def test_from_inputs(diamond: Pipeline) -> None:
    assert names(diamond.from_inputs("params:k")) == ["b", "d"]
    assert names(diamond.from_inputs("a_out")) == ["b", "c", "d"]
    assert names(diamond.from_inputs("raw", "other")) == ["a", "b", "c", "d", "e"]
    with pytest.raises(PipelineError, match=r"No node of the pipeline reads datasets: d_out, rwa\. "
                       r"Did you mean: .*\braw\?"):
        diamond.from_inputs("rwa", "d_out")


def test_to_outputs(diamond: Pipeline) -> None:
    assert names(diamond.to_outputs("b_out")) == ["a", "b"]
    assert names(diamond.to_outputs("d_out", "e_out")) == ["a", "b", "c", "d", "e"]
    with pytest.raises(PipelineError, match=r"No node of the pipeline produces datasets: raw\."):
        diamond.to_outputs("raw")


def test_filter_intersects_filters(diamond: Pipeline) -> None:
    assert names(diamond.filter(tags=["model"], from_nodes=["c"])) == ["c"]
    assert names(diamond.filter(from_nodes=["a"], to_nodes=["b"])) == ["a", "b"]
    assert names(diamond.filter(from_inputs=["a_out"], to_outputs=["c_out"])) == ["c"]
    assert names(diamond.filter(node_names=["a", "b", "e"], tags=["model", "ingest"])) == [
        "a", "b"
    ]
    assert names(diamond.filter(tags="report")) == ["c", "d"]
    assert diamond.filter() == diamond


def test_filter_by_namespaces() -> None:
    pipe = Pipeline([
        node(identity, "a", "b", name="n1", namespace="x"),
        node(identity, "b", "c", name="n2", namespace="y"),
        node(identity, "c", "d", name="n3", namespace="z"),
    ])
    assert names(pipe.filter(node_namespaces=["x", "z"])) == ["x.n1", "z.n3"]


def test_filter_with_no_nodes_left_names_filters(diamond: Pipeline) -> None:
    with pytest.raises(PipelineError) as info:
        diamond.filter(tags=["ingest"], to_nodes=["e"])
    message = str(info.value)
    assert message.startswith("Pipeline contains no nodes after applying all provided filters")
    assert "tags=['ingest']" in message
    assert "to_nodes=['e']" in message
    assert "from_nodes" not in message


def test_filter_reports_unknown_names(diamond: Pipeline) -> None:
    with pytest.raises(PipelineError, match="does not contain nodes named: q"):
        diamond.filter(tags=["model"], from_nodes=["q"])


# -- operators -----------------------------------------------------------------------------------


def test_operators(diamond: Pipeline) -> None:
    left = diamond.only_nodes("a", "b", "c")
    right = diamond.only_nodes("c", "d")
    assert names(left + right) == ["a", "b", "c", "d"]
    assert left | right == left + right
    assert names(left - right) == ["a", "b"]
    assert names(left & right) == ["c"]
    assert len(left - left) == 0


def test_union_rejects_conflicting_outputs() -> None:
    left = Pipeline([node(identity, "a", "out", name="one")])
    right = Pipeline([node(identity, "b", "out", name="two")])
    with pytest.raises(PipelineError, match="'out' by one, two"):
        left + right


@pytest.mark.parametrize("operation", ["+", "-", "&", "|"])
def test_operators_with_other_types_are_not_implemented(
    variance_pipeline: Pipeline, operation: str
) -> None:
    other = [node(identity, "q", "r")]
    with pytest.raises(TypeError, match="unsupported operand"):
        eval(f"pipe {operation} other", {"pipe": variance_pipeline, "other": other})


# -- pipeline() ----------------------------------------------------------------------------------


@pytest.fixture
def modular() -> Pipeline:
    return Pipeline([
        node(combine, ["raw", "params:rate"], "clean", name="cleaner"),
        node(combine, ["clean", "params:model.depth", "lookup"], "model", name="trainer"),
        node(combine, ["model", "parameters"], "report", name="reporter", namespace="inner"),
    ])


def test_pipeline_without_changes_is_equal(modular: Pipeline) -> None:
    assert pipeline(modular) == modular


def test_pipeline_renames_inputs_outputs_and_parameters(modular: Pipeline) -> None:
    renamed = pipeline(
        modular,
        inputs={"raw": "raw_v2"},
        outputs={"report": "final", "clean": "cleaned"},
        parameters={"rate": "params:new_rate", "params:model.depth": "depth"},
    )
    assert renamed.inputs() == {
        "raw_v2", "lookup", "params:new_rate", "params:depth", "parameters"
    }
    assert renamed.outputs() == {"final"}
    assert renamed.producer("cleaned") is not None
    assert names(renamed) == ["cleaner", "trainer", "inner.reporter"]


def test_pipeline_namespace_prefixes_unmapped_datasets_and_nodes(modular: Pipeline) -> None:
    spaced = pipeline(modular, namespace="ns", inputs="raw", outputs=["report"])
    assert spaced.inputs() == {
        "raw", "ns.lookup", "params:ns.rate", "params:ns.model.depth", "parameters"
    }
    assert spaced.outputs() == {"report"}
    assert spaced.all_outputs() == {"ns.clean", "ns.model", "report"}
    assert names(spaced) == ["ns.cleaner", "ns.trainer", "ns.inner.reporter"]
    assert [item.namespace for item in spaced.nodes] == ["ns", "ns", "ns.inner"]


def test_namespaced_copies_can_live_side_by_side(modular: Pipeline) -> None:
    both = pipeline(modular, namespace="a") + pipeline(modular, namespace="b")
    assert len(both) == 6
    assert {"a.report", "b.report"} == both.outputs()


def test_pipeline_accepts_node_list_and_tags() -> None:
    made = pipeline([node(identity, "a", "b", name="n")], outputs={"b": "c"}, tags="t")
    assert made.outputs() == {"c"}
    assert made.nodes[0].tags == {"t"}


def test_pipeline_keeps_node_namespace_without_new_namespace(modular: Pipeline) -> None:
    renamed = pipeline(modular, inputs={"raw": "other"})
    assert [item.namespace for item in renamed.nodes] == [None, None, "inner"]


def test_pipeline_rejects_unknown_inputs(modular: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"Cannot map inputs: rwa\..*Did you mean: raw\?"):
        pipeline(modular, inputs={"rwa": "x"})


def test_pipeline_rejects_intermediate_dataset_as_input(modular: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"Cannot map inputs: clean\. `inputs` must be free"):
        pipeline(modular, inputs="clean")


def test_pipeline_rejects_parameters_as_inputs(modular: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"with the `parameters` argument.*: params:rate\."):
        pipeline(modular, inputs={"params:rate": "params:x"})


def test_pipeline_rejects_unknown_outputs(modular: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"Cannot map outputs: lookup, nothing\."):
        pipeline(modular, outputs=["nothing", "lookup"])


def test_pipeline_rejects_unknown_parameters(modular: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"Cannot map parameters: params:rat\..*params:rate"):
        pipeline(modular, parameters={"rat": "r"})


def test_pipeline_renaming_can_create_invalid_pipeline(modular: Pipeline) -> None:
    with pytest.raises(PipelineError, match="Circular dependencies"):
        pipeline(modular, outputs={"model": "raw"})


# -- properties on random DAGs -------------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn) -> list[Node]:
    """N nodes; node i consumes a random subset of earlier outputs (and maybe a free input).

    Names are a random permutation, so name order and dependency order disagree.
    """
    size = draw(st.integers(min_value=1, max_value=25))
    labels = draw(st.permutations([f"n{i:02d}" for i in range(size)]))
    items = []
    for i in range(size):
        parents = draw(st.lists(st.integers(0, i - 1), unique=True)) if i else []
        inputs = [f"d{p}" for p in parents] + (["free"] if draw(st.booleans()) else [])
        items.append(node(combine, inputs, f"d{i}", name=labels[i]))
    return items


def _closure(start: set[Node], step: dict[Node, set[Node]]) -> set[Node]:
    seen = set(start)
    frontier = list(start)
    while frontier:
        for other in step[frontier.pop()]:
            if other not in seen:
                seen.add(other)
                frontier.append(other)
    return seen


@settings(max_examples=150, deadline=None, database=None)
@given(items=dags(), data=st.data())
def test_random_dags(items: list[Node], data: st.DataObject) -> None:
    pipe = Pipeline(items)
    order = pipe.nodes
    position = {item: index for index, item in enumerate(order)}
    parents = pipe.node_dependencies
    for item in order:
        assert all(position[parent] < position[item] for parent in parents[item])
    # Among nodes whose parents are all placed, the smallest name goes first.
    for index, item in enumerate(order):
        ready = [c for c in order[index:] if all(position[p] < index for p in parents[c])]
        assert item.name == min(c.name for c in ready)

    layer_of = {item: k for k, layer in enumerate(pipe.grouped_nodes) for item in layer}
    for k, layer in enumerate(pipe.grouped_nodes):
        assert [item.name for item in layer] == sorted(item.name for item in layer)
        for item in layer:
            assert all(layer_of[parent] < k for parent in parents[item])
            assert k == 0 or any(layer_of[parent] == k - 1 for parent in parents[item])
    assert len(layer_of) == len(order)

    shuffled = data.draw(st.permutations(items))
    assert Pipeline(shuffled).nodes == order

    children: dict[Node, set[Node]] = {item: set() for item in order}
    for item, found in parents.items():
        for parent in found:
            children[parent].add(item)
    start = set(data.draw(st.lists(st.sampled_from(order), min_size=1, max_size=3)))
    start_names = sorted(item.name for item in start)
    downstream = set(pipe.from_nodes(*start_names).nodes)
    upstream = set(pipe.to_nodes(*start_names).nodes)
    assert downstream == _closure(start, children)
    assert upstream == _closure(start, parents)
    assert all(children[item] <= downstream for item in downstream)
    assert all(parents[item] <= upstream for item in upstream)


# -- Kedro 1.x's constructor and sum() ----------------------------------------------------------


def test_constructor_takes_pipeline_arguments(modular: Pipeline) -> None:
    made = Pipeline(modular, inputs="raw", outputs={"report": "final"},
                    parameters={"rate": "rate"}, tags="t", namespace="ns")
    assert made == pipeline(modular, inputs="raw", outputs={"report": "final"},
                            parameters={"rate": "rate"}, tags="t", namespace="ns")
    assert made.inputs() == {"raw", "ns.lookup", "params:rate", "params:ns.model.depth",
                             "parameters"}
    assert all(item.tags == {"t"} for item in made.nodes)


def test_sum_of_registry_pipelines() -> None:
    pipes = {
        "ingest": Pipeline([node(identity, "raw", "clean", name="ingest")]),
        "train": Pipeline([node(identity, "clean", "model", name="train")]),
        "report": Pipeline([node(identity, "model", "report", name="report")]),
    }
    total = sum(pipes.values())
    assert isinstance(total, Pipeline)
    assert names(total) == ["ingest", "train", "report"]
    assert total == pipes["ingest"] + pipes["train"] + pipes["report"]
    assert total.inputs() == {"raw"}
    assert sum([pipes["train"]]) is pipes["train"]
    assert sum([], Pipeline([])) == Pipeline([])
    with pytest.raises(TypeError, match="unsupported operand"):
        1 + pipes["train"]  # type: ignore[operator]


# -- new filters -------------------------------------------------------------------------------


def test_only_nodes_with_inputs_keeps_direct_readers(diamond: Pipeline) -> None:
    assert names(diamond.only_nodes_with_inputs("a_out")) == ["b", "c"]
    assert names(diamond.only_nodes_with_inputs("params:k", "other")) == ["b", "e"]
    with pytest.raises(PipelineError, match=r"No node of the pipeline reads datasets: nope\."):
        diamond.only_nodes_with_inputs("nope")


def test_only_nodes_with_outputs_keeps_direct_writers(diamond: Pipeline) -> None:
    assert names(diamond.only_nodes_with_outputs("d_out")) == ["d"]
    assert names(diamond.only_nodes_with_outputs("b_out", "c_out")) == ["b", "c"]
    with pytest.raises(PipelineError, match=r"produces datasets: raw\."):
        diamond.only_nodes_with_outputs("raw")


def test_only_nodes_with_namespaces() -> None:
    pipe = Pipeline([
        node(identity, "a", "b", name="n1", namespace="data"),
        node(identity, "b", "c", name="n2", namespace="data.inner"),
        node(identity, "c", "d", name="n3", namespace="model"),
        node(identity, "d", "e", name="n4"),
    ])
    assert names(pipe.only_nodes_with_namespaces(["data.inner", "model"])) == [
        "data.inner.n2", "model.n3"
    ]
    assert names(pipe.only_nodes_with_namespaces(["data"])) == ["data.n1", "data.inner.n2"]
    with pytest.raises(PipelineError, match=r"no nodes in namespace: modle\. Did you mean: model"):
        pipe.only_nodes_with_namespaces(["data", "modle"])
    with pytest.raises(PipelineError, match="no nodes in namespace: nope"):
        pipe.filter(node_namespaces=["data", "nope"])


def test_unknown_node_name_suggests_its_namespaced_name() -> None:
    pipe = pipeline([node(identity, "a", "b", name="clean")], namespace="ns")
    with pytest.raises(PipelineError, match=r"named: clean\. Did you mean: ns\.clean\?"):
        pipe.only_nodes("clean")


def test_kedro_filter_example() -> None:
    pipe = Pipeline([
        node(identity, "A", "B", name="node1"),
        node(identity, "B", "C", name="node2"),
        node(identity, "C", "D", name="node3"),
    ])
    assert names(pipe.filter(node_names=["node1", "node3"], from_inputs=["A"])) == [
        "node1", "node3"
    ]


# -- node identity inside pipelines --------------------------------------------------------------


def test_same_name_and_datasets_with_another_function_is_a_clash() -> None:
    with pytest.raises(PipelineError, match="used by nodes with different functions: n"):
        Pipeline([node(identity, "a", "b", name="n"), node(combine, "a", "b", name="n")])


def test_partials_made_twice_are_one_node() -> None:
    import functools

    def scale(x: int, factor: int) -> int:
        return x * factor

    first = node(functools.partial(scale, factor=2), "a", "b", name="n")
    again = node(functools.partial(scale, factor=2), "a", "b", name="n")
    assert len(Pipeline([first]) + Pipeline([again])) == 1
    with pytest.raises(PipelineError, match="different functions"):
        Pipeline([first, node(functools.partial(scale, factor=3), "a", "b", name="n")])


def test_unnamed_nodes_are_found_by_their_default_names() -> None:
    pipe = Pipeline([node(identity, "raw", "clean"), node(identity, "clean", "model")])
    first, second = pipe.nodes
    assert first.name.startswith("identity__")
    assert names(pipe.from_nodes(second.name)) == [second.name]
    assert names(pipe.only_nodes(first.name)) == [first.name]


def test_confirms_must_be_unique() -> None:
    Pipeline([node(identity, "a", "b", name="one", confirms="a")])
    with pytest.raises(PipelineError, match=r"confirmed by more than one node: 'ds' by one, two"):
        Pipeline([node(identity, "a", "b", name="one", confirms="ds@csv"),
                  node(identity, "c", "d", name="two", confirms="ds@pandas")])


# -- transcoding -------------------------------------------------------------------------------


@pytest.fixture
def transcoded() -> Pipeline:
    """``ds`` written as pandas, read as spark by one node and as pandas by another."""
    return Pipeline([
        node(identity, "raw", "ds@pandas", name="write"),
        node(identity, "ds@spark", "spark_out", name="read_spark"),
        node(combine, ["ds@pandas", "params:k"], "pandas_out", name="read_pandas"),
        node(identity, "spark_out", "final", name="after"),
    ])


def test_transcoded_formats_link_as_one_dataset(transcoded: Pipeline) -> None:
    by_name = {item.name: item for item in transcoded.nodes}
    assert names(transcoded) == ["write", "read_pandas", "read_spark", "after"]
    assert transcoded.node_dependencies[by_name["read_spark"]] == {by_name["write"]}
    assert transcoded.inputs() == {"raw", "params:k"}
    assert transcoded.outputs() == {"pandas_out", "final"}
    assert transcoded.datasets() == {"raw", "ds@pandas", "ds@spark", "params:k", "spark_out",
                                     "pandas_out", "final"}
    assert transcoded.producer("ds@spark") is by_name["write"]
    assert transcoded.producer("ds") is by_name["write"]
    assert [item.name for item in transcoded.consumers("ds")] == ["read_pandas", "read_spark"]
    grouped = [[item.name for item in layer] for layer in transcoded.grouped_nodes]
    assert grouped == [["write"], ["read_pandas", "read_spark"], ["after"]]


def test_transcoded_free_input_and_output_keep_their_formats() -> None:
    pipe = Pipeline([node(identity, "raw@csv", "clean@parquet", name="n")])
    assert pipe.inputs() == {"raw@csv"}
    assert pipe.outputs() == {"clean@parquet"}


def test_transcoded_cycle_is_detected() -> None:
    with pytest.raises(PipelineError, match="Circular dependencies exist among these nodes: "
                       "back, forth"):
        Pipeline([node(identity, "a@spark", "b@pandas", name="forth"),
                  node(identity, "b@spark", "a@pandas", name="back")])


def test_two_formats_of_one_output_from_two_nodes_is_an_error() -> None:
    with pytest.raises(PipelineError, match="outputs of more than one node: 'ds' by one, two"):
        Pipeline([node(identity, "a", "ds@pandas", name="one"),
                  node(identity, "b", "ds@spark", name="two")])


def test_transcoded_dataset_named_without_format_is_an_error() -> None:
    with pytest.raises(PipelineError, match="used with transcoding are also named without a "
                       r"format: ds\."):
        Pipeline([node(identity, "a", "ds@pandas", name="one"),
                  node(identity, "ds", "out", name="two")])


def test_filters_match_base_names_and_formats(transcoded: Pipeline) -> None:
    assert names(transcoded.from_inputs("ds")) == ["read_pandas", "read_spark", "after"]
    assert names(transcoded.from_inputs("ds@spark")) == ["read_spark", "after"]
    assert names(transcoded.only_nodes_with_inputs("ds@pandas")) == ["read_pandas"]
    assert names(transcoded.to_outputs("ds")) == ["write"]
    assert names(transcoded.to_outputs("ds@pandas")) == ["write"]
    assert names(transcoded.only_nodes_with_outputs("ds")) == ["write"]
    assert names(transcoded.to_nodes("after")) == ["write", "read_spark", "after"]
    assert names(transcoded.from_nodes("write")) == names(transcoded)
    assert names(transcoded.filter(from_inputs=["ds@spark"], to_outputs=["spark_out"])) == [
        "read_spark"
    ]
    with pytest.raises(PipelineError, match=r"produces datasets: ds@spark\. Did you mean: "
                       r".*ds@pandas"):
        transcoded.to_outputs("ds@spark")
    with pytest.raises(PipelineError, match=r"reads datasets: ds@polars\."):
        transcoded.from_inputs("ds@polars")


def test_pipeline_maps_transcoded_datasets_by_base_name(transcoded: Pipeline) -> None:
    renamed = pipeline(transcoded, inputs={"raw": "raw_v2"}, outputs={"ds": "shared"},
                       namespace="ns")
    by_name = {item.name: item for item in renamed.nodes}
    assert by_name["ns.write"].outputs == ["shared@pandas"]
    assert by_name["ns.read_spark"].inputs == ["shared@spark"]
    assert by_name["ns.read_pandas"].inputs == ["shared@pandas", "params:ns.k"]
    assert renamed.inputs() == {"raw_v2", "params:ns.k"}
    free = Pipeline([node(identity, "ds@spark", "out", name="reader")])
    assert pipeline(free, inputs={"ds": "shared"}).inputs() == {"shared@spark"}
    assert pipeline(free, inputs="ds", namespace="ns").inputs() == {"ds@spark"}
    assert pipeline(free, namespace="ns").inputs() == {"ns.ds@spark"}


@settings(max_examples=60, deadline=None, database=None)
@given(items=dags(), data=st.data())
def test_random_transcoding_keeps_the_graph(items: list[Node], data: st.DataObject) -> None:
    """Giving every use of a dataset its own format changes names, never the graph."""
    formats = st.sampled_from(["pandas", "spark", "polars"])
    transcoded = []
    for item in items:
        inputs = [name if name == "free" else f"{name}@{data.draw(formats)}"
                  for name in item.inputs]
        outputs = [f"{name}@{data.draw(formats)}" for name in item.outputs]
        transcoded.append(node(combine, inputs, outputs[0], name=item.name))
    plain, formatted = Pipeline(items), Pipeline(transcoded)
    assert names(formatted) == names(plain)
    plain_parents = {item.name: sorted(p.name for p in parents)
                     for item, parents in plain.node_dependencies.items()}
    formatted_parents = {item.name: sorted(p.name for p in parents)
                         for item, parents in formatted.node_dependencies.items()}
    assert formatted_parents == plain_parents
    assert {name.partition("@")[0] for name in formatted.outputs()} == plain.outputs()
    assert formatted.inputs() <= {"free"}
