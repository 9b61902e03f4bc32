"""Data science: train a classifier, predict the test set, report the accuracy."""

from iris.pipelines.data_science.pipeline import create_pipeline

__all__ = ["create_pipeline"]
