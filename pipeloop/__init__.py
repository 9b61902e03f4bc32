"""pipeloop: Kedro's nodes, pipelines and data catalog, on one asyncio scheduler.

Everything in ``__all__`` is public; so are the documented subpackages
``pipeloop.datasets`` and ``pipeloop.errors``. Anything else may change without notice.
"""

from __future__ import annotations

import importlib
import importlib.util
import typing

from pipeloop import errors as errors

if typing.TYPE_CHECKING:
    from pipeloop.datasets.base import AbstractDataset as AbstractDataset
    from pipeloop.datasets.catalog import DataCatalog as DataCatalog
    from pipeloop.datasets.lambda_ import LambdaDataset as LambdaDataset
    from pipeloop.datasets.memory import MemoryDataset as MemoryDataset
    from pipeloop.datasets.secrets import MaskSecretsFilter as MaskSecretsFilter
    from pipeloop.datasets.secrets import SecretMasker as SecretMasker
    from pipeloop.engine.discovery import find_pipelines as find_pipelines
    from pipeloop.engine.hooks import hook_impl as hook_impl
    from pipeloop.engine.node import Node as Node
    from pipeloop.engine.node import node as node
    from pipeloop.engine.pipeline import Pipeline as Pipeline
    from pipeloop.engine.pipeline import pipeline as pipeline
    from pipeloop.engine.project import Project as Project
    from pipeloop.engine.provenance import ProvenanceRecorder as ProvenanceRecorder
    from pipeloop.engine.provenance import ProvenanceStore as ProvenanceStore
    from pipeloop.engine.report import NodeState as NodeState
    from pipeloop.engine.report import RunReport as RunReport
    from pipeloop.engine.report import RunStatus as RunStatus
    from pipeloop.engine.runners.base import AbstractRunner as AbstractRunner
    from pipeloop.engine.runners.dask import DaskRunner as DaskRunner
    from pipeloop.engine.runners.dry import DryRunner as DryRunner
    from pipeloop.engine.runners.process import ParallelRunner as ParallelRunner
    from pipeloop.engine.runners.sequential import SequentialRunner as SequentialRunner
    from pipeloop.engine.runners.thread import ThreadRunner as ThreadRunner

# Public names are imported on first use. A ParallelRunner worker that unpickles a node
# then imports the node module alone, not the scheduler, catalog and asyncio: worker start
# is on every parallel run's critical path.
_LAZY = {
    "AbstractDataset": "pipeloop.datasets.base",
    "AbstractRunner": "pipeloop.engine.runners.base",
    "DaskRunner": "pipeloop.engine.runners.dask",
    "DataCatalog": "pipeloop.datasets.catalog",
    "DryRunner": "pipeloop.engine.runners.dry",
    "LambdaDataset": "pipeloop.datasets.lambda_",
    "MaskSecretsFilter": "pipeloop.datasets.secrets",
    "MemoryDataset": "pipeloop.datasets.memory",
    "Node": "pipeloop.engine.node",
    "NodeState": "pipeloop.engine.report",
    "ParallelRunner": "pipeloop.engine.runners.process",
    "Pipeline": "pipeloop.engine.pipeline",
    "Project": "pipeloop.engine.project",
    "ProvenanceRecorder": "pipeloop.engine.provenance",
    "ProvenanceStore": "pipeloop.engine.provenance",
    "RunReport": "pipeloop.engine.report",
    "RunStatus": "pipeloop.engine.report",
    "SecretMasker": "pipeloop.datasets.secrets",
    "SequentialRunner": "pipeloop.engine.runners.sequential",
    "ThreadRunner": "pipeloop.engine.runners.thread",
    "find_pipelines": "pipeloop.engine.discovery",
    "hook_impl": "pipeloop.engine.hooks",
    "node": "pipeloop.engine.node",
    "pipeline": "pipeloop.engine.pipeline",
}

__version__ = "0.1.0"

__all__ = [
    "AbstractDataset",
    "AbstractRunner",
    "DataCatalog",
    "DryRunner",
    "LambdaDataset",
    "MaskSecretsFilter",
    "MemoryDataset",
    "Node",
    "NodeState",
    "ParallelRunner",
    "Pipeline",
    "Project",
    "ProvenanceRecorder",
    "ProvenanceStore",
    "RunReport",
    "RunStatus",
    "SecretMasker",
    "SequentialRunner",
    "ThreadRunner",
    "__version__",
    "errors",
    "find_pipelines",
    "hook_impl",
    "node",
    "pipeline",
]

# DaskRunner is imported on first use (distributed takes a while to import), and is public
# only where the [dask] extra is installed, so that `from pipeloop import *` always works.
if importlib.util.find_spec("distributed") is not None:
    __all__ = sorted([*__all__, "DaskRunner"])

_DEPRECATED_ALIASES = {
    "AbstractDataSet": "AbstractDataset",
    "MemoryDataSet": "MemoryDataset",
    "LambdaDataSet": "LambdaDataset",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    if name in _DEPRECATED_ALIASES:
        import warnings

        new_name = _DEPRECATED_ALIASES[name]
        warnings.warn(
            f"{name} is a deprecated spelling; use pipeloop.{new_name} instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return __getattr__(new_name)
    raise AttributeError(f"module 'pipeloop' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
