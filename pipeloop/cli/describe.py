"""A pipeline as text, as JSON, or as a Mermaid flowchart (which GitHub renders in
Markdown inside a ```` ```mermaid ```` block)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from pipeloop.engine.node import Node
from pipeloop.engine.pipeline import Pipeline

__all__ = ["as_json", "as_mermaid", "as_text"]


def _is_parameter(name: str) -> bool:
    return name == "parameters" or name.startswith("params:")


def _node_json(node: Node) -> dict[str, Any]:
    return {"name": node.name, "function": node.func_name, "inputs": node.inputs,
            "outputs": node.outputs, "tags": sorted(node.tags), "namespace": node.namespace}


def as_json(name: str, pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's nodes (in execution order), free inputs and free outputs."""
    return {
        "name": name,
        "nodes": [_node_json(node) for node in pipeline.nodes],
        "inputs": sorted(pipeline.inputs()),
        "outputs": sorted(pipeline.outputs()),
    }


def as_text(name: str, pipeline: Pipeline) -> str:
    """A readable summary: inputs, nodes in execution order with their datasets, outputs."""
    lines = [f"Pipeline '{name}': {len(pipeline.nodes)} node(s)",
             f"Inputs: {', '.join(sorted(pipeline.inputs())) or 'none'}",
             f"Outputs: {', '.join(sorted(pipeline.outputs())) or 'none'}",
             "Nodes, in execution order:"]
    for node in pipeline.nodes:
        tags = f"  [tags: {', '.join(sorted(node.tags))}]" if node.tags else ""
        lines.append(f"  - {node.name}{tags}")
        if not node.name.endswith(str(node)):
            lines.append(f"      {node}")
    return "\n".join(lines)


def _label(text: str) -> str:
    """``text`` as a quoted Mermaid label (quotes and angle brackets escaped)."""
    escaped = text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
    return f'"{escaped}"'


def as_mermaid(pipeline: Pipeline, stale: Collection[str] | None = None) -> str:
    """A Mermaid flowchart: nodes as rounded boxes, datasets as parallelograms, parameters
    as hexagons, edges from each input to its node and from each node to its outputs.
    With ``stale`` (node names), stale nodes are coloured amber and the others green."""
    datasets = {name: f"d{index}" for index, name in enumerate(sorted(pipeline.datasets()))}
    lines = ["flowchart TD"]
    for index, node in enumerate(pipeline.nodes):
        lines.append(f"    n{index}({_label(node.name)})")
    for name, ident in datasets.items():
        shape = "{{%s}}" if _is_parameter(name) else "[/%s/]"
        lines.append(f"    {ident}{shape % _label(name)}")
    for index, node in enumerate(pipeline.nodes):
        lines += [f"    {datasets[name]} --> n{index}" for name in dict.fromkeys(node.inputs)]
        lines += [f"    n{index} --> {datasets[name]}" for name in node.outputs]
    lines += ["    classDef param fill:#eef,stroke:#99c", "    classDef data fill:#fff,stroke:#999"]
    params = [ident for name, ident in datasets.items() if _is_parameter(name)]
    data = [ident for name, ident in datasets.items() if not _is_parameter(name)]
    if params:
        lines.append(f"    class {','.join(params)} param")
    if data:
        lines.append(f"    class {','.join(data)} data")
    if stale is not None:
        lines += ["    classDef stale fill:#fd8,stroke:#c80",
                  "    classDef fresh fill:#dfd,stroke:#6a6"]
        for kind, names in (("stale", [i for i, n in enumerate(pipeline.nodes)
                                       if n.name in stale]),
                            ("fresh", [i for i, n in enumerate(pipeline.nodes)
                                       if n.name not in stale])):
            if names:
                lines.append(f"    class {','.join(f'n{i}' for i in names)} {kind}")
    return "\n".join(lines)
