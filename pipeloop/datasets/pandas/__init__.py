"""Datasets backed by pandas (the ``[pandas]`` extra: ``pip install "pipeloop[pandas]"``).

Reading and writing run in a worker thread, so the event loop stays free; local saves are atomic
and can be versioned like every file dataset.
"""

from __future__ import annotations

from pipeloop.datasets.pandas.csv import CSVDataset
from pipeloop.datasets.pandas.parquet import ParquetDataset

__all__ = ["CSVDataset", "ParquetDataset"]
