"""Datasets and the ``DataCatalog``: where data lives, and how it is loaded and saved."""

from __future__ import annotations

from pipeloop.datasets.base import AbstractDataset as AbstractDataset
from pipeloop.datasets.catalog import DataCatalog as DataCatalog
from pipeloop.datasets.lambda_ import LambdaDataset as LambdaDataset
from pipeloop.datasets.memory import MemoryDataset as MemoryDataset

__all__ = ["AbstractDataset", "DataCatalog", "LambdaDataset", "MemoryDataset"]
