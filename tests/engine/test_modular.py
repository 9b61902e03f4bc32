"""Re-using pipelines under new names: namespaces, parameters and Kedro's renaming rules."""

from __future__ import annotations

from typing import Any

import pytest

from pipeloop import DataCatalog, MemoryDataset, SequentialRunner
from pipeloop.engine.node import node
from pipeloop.engine.pipeline import Pipeline, pipeline
from pipeloop.errors import PipelineError


def combine(*values: Any) -> Any:
    return values


def split_data(table: Any, options: Any) -> tuple[Any, Any]:
    return (table, options), options


def details(pipe: Pipeline) -> list[tuple[str, list[str], list[str]]]:
    return [(item.name, item.inputs, item.outputs) for item in pipe.nodes]


@pytest.fixture
def base_data_science() -> Pipeline:
    """Kedro's spaceflights tutorial: one data-science pipeline, re-used per namespace."""
    return pipeline([
        node(split_data, ["model_input_table", "params:model_options"],
             ["X_train", "y_train"], name="split_data_node"),
        node(combine, ["X_train", "y_train", "parameters"], "regressor", name="train"),
    ])


def test_namespace_prefixes_parameters(base_data_science: Pipeline) -> None:
    active = pipeline(base_data_science, inputs="model_input_table",
                      namespace="active_modelling_pipeline")
    assert details(active) == [
        ("active_modelling_pipeline.split_data_node",
         ["model_input_table", "params:active_modelling_pipeline.model_options"],
         ["active_modelling_pipeline.X_train", "active_modelling_pipeline.y_train"]),
        ("active_modelling_pipeline.train",
         ["active_modelling_pipeline.X_train", "active_modelling_pipeline.y_train",
          "parameters"],
         ["active_modelling_pipeline.regressor"]),
    ]
    assert active.inputs() == {
        "model_input_table", "params:active_modelling_pipeline.model_options", "parameters"
    }


def test_two_namespaces_read_their_own_parameters(base_data_science: Pipeline) -> None:
    both = (pipeline(base_data_science, inputs="model_input_table", namespace="active")
            + pipeline(base_data_science, inputs="model_input_table", namespace="candidate"))
    catalog = DataCatalog({
        "model_input_table": MemoryDataset("table"),
        "params:active.model_options": MemoryDataset({"test_size": 0.2}),
        "params:candidate.model_options": MemoryDataset({"test_size": 0.3}),
        "parameters": MemoryDataset({}),
    })
    outputs = SequentialRunner().run_sync(both, catalog)
    assert outputs["active.regressor"][1] == {"test_size": 0.2}
    assert outputs["candidate.regressor"][1] == {"test_size": 0.3}


def test_mapped_parameters_are_exempt_from_the_namespace(base_data_science: Pipeline) -> None:
    kept = pipeline(base_data_science, namespace="ns", parameters="model_options")
    assert "params:model_options" in kept.inputs()
    renamed = pipeline(base_data_science, namespace="ns",
                       parameters={"params:model_options": "shared.options"})
    assert "params:shared.options" in renamed.inputs()
    assert pipeline(base_data_science, namespace="ns", parameters="parameters").inputs() >= {
        "parameters"
    }


def test_prefix_datasets_with_namespace_false_only_groups_nodes(
    base_data_science: Pipeline,
) -> None:
    grouped = pipeline(base_data_science, namespace="deploy",
                       prefix_datasets_with_namespace=False)
    assert details(grouped) == [
        ("deploy.split_data_node", ["model_input_table", "params:model_options"],
         ["X_train", "y_train"]),
        ("deploy.train", ["X_train", "y_train", "parameters"], ["regressor"]),
    ]
    assert [item.namespace for item in grouped.nodes] == ["deploy", "deploy"]
    assert names_of(grouped.only_nodes_with_namespaces(["deploy"])) == [
        "deploy.split_data_node", "deploy.train"
    ]


def names_of(pipe: Pipeline) -> list[str]:
    return [item.name for item in pipe.nodes]


def test_nested_namespaces_nest_datasets_parameters_and_nodes() -> None:
    inner = pipeline([node(combine, ["raw", "params:k", "params:kept"], "out", name="n")],
                     namespace="inner", parameters="kept")
    outer = pipeline(inner, namespace="outer")
    assert details(outer) == [
        ("outer.inner.n", ["outer.inner.raw", "params:outer.inner.k", "params:outer.kept"],
         ["outer.inner.out"]),
    ]
    assert outer.nodes[0].namespace == "outer.inner"
    assert names_of(outer.only_nodes_with_namespace("outer")) == ["outer.inner.n"]


def test_node_namespace_nests_without_renaming_datasets() -> None:
    made = pipeline([node(combine, "a", "b", name="n", namespace="own")], namespace="ns")
    assert details(made) == [("ns.own.n", ["ns.a"], ["ns.b"])]


def test_unnamed_nodes_are_renamed_like_kedro() -> None:
    def f(x: Any) -> Any:
        return x

    f.__module__ = "__main__"
    made = pipeline([node(f, "a", "b"), node(f, "params:x", "z")], namespace="ns")
    # what Kedro 1.7 names the same nodes
    assert sorted(names_of(made)) == ["ns.f__64fe2057", "ns.f__dfda7cb1"]


def test_confirms_follow_the_renaming() -> None:
    made = pipeline([node(combine, "a", "b", name="n", confirms=["a", "elsewhere"])],
                    namespace="ns", inputs="a")
    assert made.nodes[0].confirms == ("a", "ns.elsewhere")


def test_mapping_an_unknown_parameter_is_an_error(base_data_science: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"Cannot map parameters: params:model_option\..*"
                       r"Did you mean: params:model_options\?"):
        pipeline(base_data_science, namespace="ns", parameters={"model_option": "x"})


def test_mapping_an_intermediate_as_input_is_an_error(base_data_science: Pipeline) -> None:
    with pytest.raises(PipelineError, match=r"Cannot map inputs: X_train\."):
        Pipeline(base_data_science, inputs="X_train", namespace="ns")
