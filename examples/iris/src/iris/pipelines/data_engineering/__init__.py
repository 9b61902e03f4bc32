"""Data engineering: from the raw CSV to train and test sets."""

from iris.pipelines.data_engineering.pipeline import create_pipeline

__all__ = ["create_pipeline"]
