"""Kedro's hook manager as a pipeloop hook object.

pipeloop's scheduler calls the node and dataset hooks of a run; :class:`KedroHookRelay`
passes each call on to Kedro's ``PluginManager`` with Kedro's own arguments: the Kedro
``Node`` (not pipeloop's translation of it), Kedro's catalog, the run id Kedro gave. It
fires the hooks Kedro's runner fires and no others: the pipeline hooks
(``before_pipeline_run`` and the like) belong to Kedro's session, which fires them around
the runner, so the relay has no such methods.

What Kedro's runner does between hooks, the relay does too: ``before_node_run`` answers
replace inputs (and must be ``None`` or dicts), ``on_node_error`` is only for errors of the
node's function (not of loading its inputs). The datasets a node ``confirms`` are
confirmed by pipeloop's scheduler once its outputs are saved, through the run's catalog.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kedro.io import CatalogProtocol
    from kedro.pipeline.node import Node as KedroNode
    from pluggy import PluginManager

    from pipeloop import Node

__all__ = ["KedroHookRelay"]


class KedroHookRelay:
    """Relays one run's node and dataset hooks to Kedro's hook manager.

    Args:
        hook_manager: Kedro's hook manager of the run (a null manager when none was given).
        catalog: Kedro's catalog of the run, passed to the node hooks.
        kedro_nodes: pipeloop node name -> Kedro node.
        run_id: the run id Kedro's runner was given.
    """

    def __init__(
        self,
        hook_manager: PluginManager,
        catalog: CatalogProtocol,
        kedro_nodes: Mapping[str, KedroNode],
        *,
        run_id: str | None,
    ) -> None:
        self._hook = hook_manager.hook
        self._catalog = catalog
        self._nodes = kedro_nodes
        self._run_id = run_id
        self._started: set[str] = set()  # nodes whose function was called

    def _node_args(self, node: Node, inputs: Mapping[str, Any], is_async: bool) -> dict[str, Any]:
        return {"node": self._nodes[node.name], "catalog": self._catalog,
                "inputs": inputs, "is_async": is_async, "run_id": self._run_id}

    # -- datasets ---------------------------------------------------------------------------

    def before_dataset_loaded(self, dataset_name: str, node: Node) -> None:
        self._hook.before_dataset_loaded(dataset_name=dataset_name,
                                         node=self._nodes[node.name])

    def after_dataset_loaded(self, dataset_name: str, data: Any, node: Node) -> None:
        self._hook.after_dataset_loaded(dataset_name=dataset_name, data=data,
                                        node=self._nodes[node.name])

    def before_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        self._hook.before_dataset_saved(dataset_name=dataset_name, data=data,
                                        node=self._nodes[node.name])

    def after_dataset_saved(self, dataset_name: str, data: Any, node: Node) -> None:
        self._hook.after_dataset_saved(dataset_name=dataset_name, data=data,
                                       node=self._nodes[node.name])

    # -- nodes ------------------------------------------------------------------------------

    def before_node_run(
        self, node: Node, inputs: dict[str, Any], is_async: bool
    ) -> dict[str, Any] | None:
        """Call Kedro's ``before_node_run``; return the inputs its answers replace.

        Raises:
            TypeError: an answer is neither ``None`` nor a dict (Kedro's rule and message).
        """
        answers = self._hook.before_node_run(**self._node_args(node, inputs, is_async))
        replaced: dict[str, Any] = {}
        for answer in answers or ():  # a null hook manager answers None, not a list
            if answer is not None and not isinstance(answer, dict):
                raise TypeError(
                    "'before_node_run' must return either None or a dictionary mapping "
                    f"dataset names to updated values, got '{type(answer).__name__}' instead."
                )
            replaced.update(answer or {})
        self._started.add(node.name)
        return replaced or None

    def after_node_run(
        self, node: Node, inputs: dict[str, Any], outputs: dict[str, Any], is_async: bool
    ) -> None:
        self._started.discard(node.name)
        self._hook.after_node_run(outputs=outputs, **self._node_args(node, inputs, is_async))

    def on_node_error(
        self, error: BaseException, node: Node, inputs: dict[str, Any], is_async: bool
    ) -> None:
        # Kedro reports errors of the function only; a failed load never started it.
        if node.name in self._started:
            self._started.discard(node.name)
            self._hook.on_node_error(error=error, **self._node_args(node, inputs, is_async))
