"""Which nodes changed since they last ran, and the part of a pipeline to run again.

A node is **fresh** when the provenance store says it last completed with the fingerprint it
has now (same code, version, parameters and inputs; see :mod:`pipeloop.engine.fingerprint`)
and each of its persisted outputs is still what it wrote. Otherwise it is **stale**, with
reasons: ``never run``, ``code changed``, ``version changed``, ``parameter `model.lr`
changed``, ``input `companies` changed``, ``output `model` missing`` / ``modified``,
``caching disabled (cache=False)``.

:func:`select_changed` turns that into the sub-pipeline to run: the stale nodes, every
forced node with its descendants, and the fresh nodes whose in-memory outputs a running node
needs (a fresh node's persisted outputs are simply loaded). Because fingerprints chain
through outputs, a node below a changed one is stale by itself; a node below one that only
lost its output is not (that output will be written again as it was).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipeloop.engine.fingerprint import (
    MISSING,
    NodeFingerprint,
    dataset_identity,
    fingerprint_table,
)
from pipeloop.engine.graph import reachable
from pipeloop.engine.pipeline import Pipeline
from pipeloop.engine.provenance import ProvenanceSnapshot, ProvenanceStore
from pipeloop.errors import PipelineError

if TYPE_CHECKING:
    from pipeloop.datasets.catalog import DataCatalog

__all__ = ["ChangeSelection", "NodeStatus", "Staleness", "check_staleness", "select_changed"]

logger = logging.getLogger("pipeloop.runner")


@dataclass(frozen=True)
class NodeStatus:
    """One node's state against its last recorded run.

    Attributes:
        node: the node's name.
        fresh: whether it can be skipped.
        reasons: why it is stale (empty when fresh).
        fingerprint: its current fingerprint (``None`` when unknown).
        recorded_at: when its record was written (``None``: never run).
        run_id: the run that wrote its record.
    """

    node: str
    fresh: bool
    reasons: tuple[str, ...] = ()
    fingerprint: str | None = None
    recorded_at: float | None = None
    run_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "status": "fresh" if self.fresh else "stale",
                "reasons": list(self.reasons), "fingerprint": self.fingerprint,
                "recorded_at": self.recorded_at, "run_id": self.run_id}


@dataclass
class Staleness:
    """Every node's status, in pipeline order, and the fingerprints behind them."""

    pipeline: Pipeline
    statuses: dict[str, NodeStatus]
    fingerprints: Mapping[str, NodeFingerprint]
    persisted: dict[str, bool] = field(default_factory=dict)

    @property
    def stale(self) -> list[str]:
        return [name for name, status in self.statuses.items() if not status.fresh]

    @property
    def fresh(self) -> list[str]:
        return [name for name, status in self.statuses.items() if status.fresh]

    def to_json(self) -> list[dict[str, Any]]:
        return [status.to_json() for status in self.statuses.values()]

    def select(self, force_nodes: Iterable[str] = ()) -> ChangeSelection:
        """The nodes to run: see :func:`select_changed`.

        Raises:
            PipelineError: a forced node is not in the pipeline.
        """
        pipeline = self.pipeline
        by_name = {item.name: item for item in pipeline.nodes}
        forced = list(dict.fromkeys(force_nodes))
        unknown = [name for name in forced if name not in by_name]
        if unknown:
            raise PipelineError(f"--force-nodes names node(s) not in the pipeline: "
                                f"{', '.join(unknown)}.")
        why: dict[str, str] = {name: "; ".join(status.reasons)
                               for name, status in self.statuses.items() if not status.fresh}
        children = {item: [child for out in item.outputs for child in pipeline.consumers(out)]
                    for item in pipeline.nodes}
        for name in forced:
            for item in reachable([by_name[name]], children.__getitem__):
                if item.name == name:
                    why[item.name] = "forced"
                else:
                    why.setdefault(item.name, f"downstream of forced node `{name}`")
        stack = [by_name[name] for name in why]
        while stack:
            running = stack.pop()
            for dataset in running.inputs:
                producer = pipeline.producer(dataset)
                if (producer is None or producer.name in why
                        or self.persisted.get(dataset, False)):
                    continue
                why[producer.name] = (f"fresh, but `{running.name}` needs its in-memory "
                                      f"output `{dataset}`")
                stack.append(producer)
        selected = [item for item in pipeline.nodes if item.name in why]
        skipped = {name: self.fresh_reason(name) for name in self.statuses if name not in why}
        return ChangeSelection(Pipeline(selected), {item.name: why[item.name]
                                                    for item in selected}, skipped)

    def fresh_reason(self, name: str) -> str:
        """Why a fresh node can be skipped, in one line."""
        status = self.statuses[name]
        outputs = [out for out in self.fingerprints[name].outputs if self.persisted.get(out)]
        text = f"unchanged since run {status.run_id}" if status.run_id else "unchanged"
        text += " (code, parameters and inputs"
        if outputs:
            text += "; outputs " + ", ".join(f"`{out}`" for out in outputs) + " as written"
        return text + ")"


@dataclass(frozen=True)
class ChangeSelection:
    """What a changed-only run runs.

    Attributes:
        pipeline: the nodes to run (possibly none).
        running: node name -> why it runs.
        skipped: node name -> why it is fresh.
    """

    pipeline: Pipeline
    running: dict[str, str]
    skipped: dict[str, str]

    def log_skipped(self) -> None:
        """Log one line per skipped node, with why it is fresh."""
        for name, reason in self.skipped.items():
            logger.info("Skipping node '%s': fresh, %s", name, reason)


def _code_reasons(current: NodeFingerprint, parts: Mapping[str, Any]) -> list[str]:
    reasons = []
    if parts.get("code") != current.code:
        reasons.append("code changed")
    if parts.get("version") != current.version:
        reasons.append(f"version changed ({parts.get('version')} -> {current.version})")
    return reasons


def _reasons(current: NodeFingerprint, parts: Mapping[str, Any],
             produced: set[str]) -> list[str]:
    reasons = _code_reasons(current, parts)
    old_params: Mapping[str, str] = parts.get("params", {})
    for key in sorted(set(old_params) | set(current.params)):
        if old_params.get(key) != current.params.get(key):
            reasons.append(f"parameter `{key}` changed")
    old_inputs: Mapping[str, str | None] = parts.get("inputs", {})
    for key in sorted(set(old_inputs) | set(current.inputs)):
        value = current.inputs.get(key)
        if value is None and key in current.inputs and key not in produced:
            reasons.append(f"input `{key}` cannot be fingerprinted (counts as changed)")
        elif value is None or old_inputs.get(key) != value:
            reasons.append(f"input `{key}` changed")
    if list(parts.get("outputs", [])) != list(current.outputs):
        reasons.append("outputs changed")
    return reasons


async def check_staleness(
    pipeline: Pipeline,
    catalog: DataCatalog,
    store: ProvenanceStore,
) -> Staleness:
    """Each node of ``pipeline``: fresh, or stale and why.

    Args:
        pipeline: the nodes to check.
        catalog: the run's catalog (parameters included), where outputs are looked for.
        store: the records of earlier runs.

    Returns:
        The statuses in pipeline order, with the fingerprints (pass them to
        ``ProvenanceRecorder`` so the run records exactly what was checked).
    """
    snapshot: ProvenanceSnapshot = await store.snapshot()
    identities: dict[str, str | None] = {}
    fingerprints = await fingerprint_table(pipeline, catalog, recorded=snapshot,
                                           hash_cache=store, identities=identities)
    persisted = {name: bool(getattr(catalog.get(name), "persistent", False))
                 for name in pipeline.all_outputs()}
    produced = pipeline.all_outputs()
    statuses: dict[str, NodeStatus] = {}
    for item in pipeline.nodes:
        current = fingerprints[item.name]
        record = snapshot.nodes.get(item.name)
        reasons: list[str] = []
        if not current.cache:
            reasons.append("caching disabled (cache=False)")
        if record is None:
            reasons.append("never run")
        elif record.fingerprint is None or record.fingerprint != current.digest:
            reasons += (_reasons(current, record.parts, produced)
                        or ["fingerprint changed"])
        if record is not None and not reasons:
            for output in item.outputs:
                if not persisted[output]:
                    continue
                problem = await _output_problem(output, item.name, current, catalog,
                                                snapshot, store, identities)
                if problem:
                    reasons.append(problem)
        statuses[item.name] = NodeStatus(
            item.name, not reasons, tuple(reasons), current.digest,
            None if record is None else record.recorded_at,
            None if record is None else record.run_id)
    return Staleness(pipeline, statuses, fingerprints, persisted)


async def _output_problem(output: str, node: str, current: NodeFingerprint,
                          catalog: DataCatalog, snapshot: ProvenanceSnapshot,
                          store: ProvenanceStore, identities: dict[str, str | None]) -> str:
    record = snapshot.outputs.get(output)
    if record is None or record.node != node or record.fingerprint != current.output(output):
        return f"output `{output}` not recorded as written by this node"
    if output not in identities:
        identities[output] = await dataset_identity(catalog[output], hash_cache=store)
    identity = identities[output]
    if identity is None:
        return f"output `{output}` cannot be checked (its dataset offers no fingerprint)"
    if identity == MISSING:
        return f"output `{output}` missing"
    if identity != record.identity:
        return f"output `{output}` modified"
    return ""


async def select_changed(
    pipeline: Pipeline,
    catalog: DataCatalog,
    store: ProvenanceStore,
    *,
    force_nodes: Iterable[str] = (),
) -> tuple[ChangeSelection, Staleness]:
    """The part of ``pipeline`` to run so that every output is up to date.

    Runs the stale nodes, the ``force_nodes`` with everything downstream of them, and the
    fresh nodes whose in-memory outputs a running node reads; skips the rest.

    Returns:
        The selection and the staleness it came from (its ``fingerprints`` go to
        ``ProvenanceRecorder``).

    Raises:
        PipelineError: a forced node is not in the pipeline.
    """
    staleness = await check_staleness(pipeline, catalog, store)
    return staleness.select(force_nodes), staleness
