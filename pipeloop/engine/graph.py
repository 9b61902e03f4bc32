"""Graph walks over nodes linked by the datasets they share.

Shared by ``Pipeline`` (order, filters) and the resume advice, so each walk is written once.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from pipeloop.engine.node import Node
from pipeloop.engine.transcoding import strip_transcoding

__all__ = ["dependency_edges", "find_cycle", "producers", "reachable", "toposort"]


def producers(nodes: Iterable[Node]) -> dict[str, Node]:
    """The node that writes each dataset, by base name (``ds@pandas`` is ``ds``: see
    :mod:`pipeloop.engine.transcoding`); the last one wins if several do."""
    return {strip_transcoding(name): item for item in nodes for name in item.outputs}


def dependency_edges(
    nodes: Iterable[Node], producer: Mapping[str, Node]
) -> tuple[dict[Node, set[Node]], dict[Node, set[Node]]]:
    """Each node's parents (producers of its inputs) and children (consumers of its
    outputs), given the producer of each dataset by base name (as :func:`producers` gives
    it), so that a node reading ``ds@spark`` is a child of the one writing ``ds@pandas``."""
    nodes = list(nodes)
    parents: dict[Node, set[Node]] = {item: set() for item in nodes}
    children: dict[Node, set[Node]] = {item: set() for item in nodes}
    for item in nodes:
        for dataset in item.inputs:
            source = producer.get(strip_transcoding(dataset))
            if source is not None:
                parents[item].add(source)
                children[source].add(item)
    return parents, children


def toposort(
    nodes: list[Node], parents: Mapping[Node, set[Node]], children: Mapping[Node, set[Node]]
) -> tuple[list[Node], set[Node]]:
    """Kahn's algorithm, ties broken by name (unique), so the order ignores input order.

    Returns:
        The sorted nodes, and the nodes left over because they sit on or behind a cycle.
    """
    waiting = {item: len(parents[item]) for item in nodes}
    ready = [(item.name, item) for item in nodes if not waiting[item]]
    heapq.heapify(ready)
    order: list[Node] = []
    while ready:
        _, item = heapq.heappop(ready)
        order.append(item)
        for child in children[item]:
            waiting[child] -= 1
            if not waiting[child]:
                heapq.heappush(ready, (child.name, child))
    return order, {item for item, count in waiting.items() if count}


def find_cycle(stuck: set[Node], parents: Mapping[Node, set[Node]]) -> list[Node]:
    """One cycle among ``stuck`` nodes, each of which has a stuck parent."""
    item = min(stuck, key=lambda candidate: candidate.name)
    path: dict[Node, None] = {}
    while item not in path:
        path[item] = None
        item = min(parents[item] & stuck, key=lambda candidate: candidate.name)
    walked = list(path)
    return walked[walked.index(item):]


def reachable(start: Iterable[Node], neighbours: Callable[[Node], Iterable[Node]]) -> list[Node]:
    """``start`` and every node reachable from it through ``neighbours``, breadth first."""
    seen = dict.fromkeys(start)
    queue = deque(seen)
    while queue:
        for neighbour in neighbours(queue.popleft()):
            if neighbour not in seen:
                seen[neighbour] = None
                queue.append(neighbour)
    return list(seen)
