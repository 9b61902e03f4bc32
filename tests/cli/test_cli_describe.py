"""A pipeline as text, JSON and Mermaid."""

from __future__ import annotations

from pipeloop import Pipeline, node
from pipeloop.cli.describe import as_json, as_mermaid, as_text


def _f(a: int, b: int) -> int:
    return a + b


PIPE = Pipeline([
    node(_f, ["x", "params:k"], "y", name="add", tags="math"),
    node(_f, ["y", "x"], 'q"uote', namespace="ns"),
])


def test_text_lists_nodes_in_order_with_their_datasets() -> None:
    assert as_text("p", PIPE).splitlines() == [
        "Pipeline 'p': 2 node(s)",
        "Inputs: params:k, x",
        'Outputs: q"uote',
        "Nodes, in execution order:",
        "  - add  [tags: math]",
        "      _f([x,params:k]) -> [y]",
        "  - ns._f__879e0eb2",  # Kedro 1.x's default name of an unnamed node
        '      _f([y,x]) -> [q"uote]',
    ]


def test_json_describes_every_node() -> None:
    described = as_json("p", PIPE)
    assert described["inputs"] == ["params:k", "x"]
    assert described["nodes"][0] == {"name": "add", "function": "_f",
                                     "inputs": ["x", "params:k"], "outputs": ["y"],
                                     "tags": ["math"], "namespace": None}


def test_mermaid_has_a_shape_per_node_and_dataset_and_an_edge_per_use() -> None:
    lines = as_mermaid(PIPE).splitlines()
    assert lines[0] == "flowchart TD"
    assert '    n0("add")' in lines
    assert '    n1("ns._f__879e0eb2")' in lines
    assert '    d0{{"params:k"}}' in lines
    assert '    d1[/"q#quot;uote"/]' in lines
    edges = [line.strip() for line in lines if "-->" in line]
    assert edges == ["d2 --> n0", "d0 --> n0", "n0 --> d3", "d3 --> n1", "d2 --> n1",
                     "n1 --> d1"]
