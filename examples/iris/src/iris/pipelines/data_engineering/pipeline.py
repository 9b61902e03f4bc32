"""The ``de`` pipeline: one node that splits the data."""

from __future__ import annotations

from iris.pipelines.data_engineering.nodes import split_data
from pipeloop import Pipeline, node


def create_pipeline() -> Pipeline:
    """Split ``example_iris_data`` into features and labels for training and testing."""
    return Pipeline([
        node(
            split_data,
            ["example_iris_data", "params:test_data_ratio", "params:random_seed"],
            ["X_train", "X_test", "y_train", "y_test"],
            name="split",
            tags="preprocessing",
        ),
    ])
