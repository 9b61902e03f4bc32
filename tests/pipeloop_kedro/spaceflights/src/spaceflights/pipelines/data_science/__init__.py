"""Splits the model input table, fits a regressor and scores it."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
