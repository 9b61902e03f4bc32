"""Datasets and the ``DataCatalog``: where data lives, and how it is loaded and saved.

Public: everything in ``__all__``; the optional pandas datasets live in
``pipeloop.datasets.pandas`` (extra ``[pandas]``).
"""

from __future__ import annotations

from pipeloop.datasets.base import AbstractDataset as AbstractDataset
from pipeloop.datasets.catalog import DataCatalog as DataCatalog
from pipeloop.datasets.config import ConfigLoader as ConfigLoader
from pipeloop.datasets.config import catalog_from_conf as catalog_from_conf
from pipeloop.datasets.csv import CSVDataset as CSVDataset
from pipeloop.datasets.file import AbstractBytesFileDataset as AbstractBytesFileDataset
from pipeloop.datasets.file import AbstractFileDataset as AbstractFileDataset
from pipeloop.datasets.file import Version as Version
from pipeloop.datasets.file import generate_timestamp as generate_timestamp
from pipeloop.datasets.json import JSONDataset as JSONDataset
from pipeloop.datasets.lambda_ import LambdaDataset as LambdaDataset
from pipeloop.datasets.memory import MemoryDataset as MemoryDataset
from pipeloop.datasets.pickle import PickleDataset as PickleDataset
from pipeloop.datasets.text import TextDataset as TextDataset
from pipeloop.datasets.yaml import YAMLDataset as YAMLDataset

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
