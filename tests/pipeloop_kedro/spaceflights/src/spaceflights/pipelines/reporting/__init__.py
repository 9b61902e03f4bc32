"""Charts of the preprocessed data."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
