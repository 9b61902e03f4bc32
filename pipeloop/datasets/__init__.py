"""Datasets and the ``DataCatalog``: where data lives, and how it is loaded and saved.

Public: everything in ``__all__``; the optional pandas datasets live in
``pipeloop.datasets.pandas`` (extra ``[pandas]``). The file datasets and the configuration
loader are imported on first use: a worker process that only runs nodes never pays for
aiofiles and YAML.
"""

from __future__ import annotations

import importlib
import typing

from pipeloop.datasets.base import AbstractDataset as AbstractDataset
from pipeloop.datasets.catalog import DataCatalog as DataCatalog
from pipeloop.datasets.lambda_ import LambdaDataset as LambdaDataset
from pipeloop.datasets.memory import MemoryDataset as MemoryDataset

if typing.TYPE_CHECKING:
    from pipeloop.datasets.config import ConfigLoader as ConfigLoader
    from pipeloop.datasets.config import catalog_from_conf as catalog_from_conf
    from pipeloop.datasets.csv import CSVDataset as CSVDataset
    from pipeloop.datasets.file import AbstractBytesFileDataset as AbstractBytesFileDataset
    from pipeloop.datasets.file import AbstractFileDataset as AbstractFileDataset
    from pipeloop.datasets.file import Version as Version
    from pipeloop.datasets.file import generate_timestamp as generate_timestamp
    from pipeloop.datasets.json import JSONDataset as JSONDataset
    from pipeloop.datasets.pickle import PickleDataset as PickleDataset
    from pipeloop.datasets.text import TextDataset as TextDataset
    from pipeloop.datasets.yaml import YAMLDataset as YAMLDataset

_LAZY = {
    "AbstractBytesFileDataset": "pipeloop.datasets.file",
    "AbstractFileDataset": "pipeloop.datasets.file",
    "CSVDataset": "pipeloop.datasets.csv",
    "ConfigLoader": "pipeloop.datasets.config",
    "JSONDataset": "pipeloop.datasets.json",
    "PickleDataset": "pipeloop.datasets.pickle",
    "TextDataset": "pipeloop.datasets.text",
    "Version": "pipeloop.datasets.file",
    "YAMLDataset": "pipeloop.datasets.yaml",
    "catalog_from_conf": "pipeloop.datasets.config",
    "generate_timestamp": "pipeloop.datasets.file",
}

__all__ = [
    "AbstractBytesFileDataset",
    "AbstractDataset",
    "AbstractFileDataset",
    "CSVDataset",
    "ConfigLoader",
    "DataCatalog",
    "JSONDataset",
    "LambdaDataset",
    "MemoryDataset",
    "PickleDataset",
    "TextDataset",
    "Version",
    "YAMLDataset",
    "catalog_from_conf",
    "generate_timestamp",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipeloop.datasets' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
