"""pipeloop: Kedro's nodes, pipelines and data catalog, on one asyncio scheduler.

Everything in ``__all__`` is public; so are the documented subpackages
``pipeloop.datasets`` and ``pipeloop.errors``. Anything else may change without notice.
"""

from __future__ import annotations

import importlib.util
import typing

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

if typing.TYPE_CHECKING:
    from pipeloop.engine.runners.dask import DaskRunner as DaskRunner

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
    if name == "DaskRunner":
        from pipeloop.engine.runners.dask import DaskRunner

        return DaskRunner
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
