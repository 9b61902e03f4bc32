"""pipeloop: Kedro's nodes, pipelines and data catalog, on one asyncio scheduler.

Everything in ``__all__`` is public; so are the documented subpackages
``pipeloop.datasets`` and ``pipeloop.errors``. Anything else may change without notice.
"""

from __future__ import annotations

from pipeloop import errors as errors
from pipeloop.datasets.base import AbstractDataset as AbstractDataset
from pipeloop.datasets.catalog import DataCatalog as DataCatalog
from pipeloop.datasets.lambda_ import LambdaDataset as LambdaDataset
from pipeloop.datasets.memory import MemoryDataset as MemoryDataset
from pipeloop.engine.node import Node as Node
from pipeloop.engine.node import node as node
from pipeloop.engine.pipeline import Pipeline as Pipeline
from pipeloop.engine.pipeline import pipeline as pipeline
from pipeloop.engine.runners.base import AbstractRunner as AbstractRunner
from pipeloop.engine.runners.dry import DryRunner as DryRunner
from pipeloop.engine.runners.process import ParallelRunner as ParallelRunner
from pipeloop.engine.runners.sequential import SequentialRunner as SequentialRunner
from pipeloop.engine.runners.thread import ThreadRunner as ThreadRunner

__version__ = "0.1.0"

__all__ = [
    "AbstractDataset",
    "AbstractRunner",
    "DataCatalog",
    "DryRunner",
    "LambdaDataset",
    "MemoryDataset",
    "Node",
    "ParallelRunner",
    "Pipeline",
    "SequentialRunner",
    "ThreadRunner",
    "__version__",
    "errors",
    "node",
    "pipeline",
]

_DEPRECATED_ALIASES = {
    "AbstractDataSet": "AbstractDataset",
    "MemoryDataSet": "MemoryDataset",
    "LambdaDataSet": "LambdaDataset",
}


def __getattr__(name: str) -> object:
    if name in _DEPRECATED_ALIASES:
        import warnings

        new_name = _DEPRECATED_ALIASES[name]
        warnings.warn(
            f"{name} is a deprecated spelling; use pipeloop.{new_name} instead.",
            DeprecationWarning,
            stacklevel=2,
        )
        return globals()[new_name]
    raise AttributeError(f"module 'pipeloop' has no attribute {name!r}")
