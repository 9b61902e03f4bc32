"""The ``ds`` pipeline: train, predict, report."""

from __future__ import annotations

from iris.pipelines.data_science.nodes import predict, report_accuracy, train_model
from pipeloop import Pipeline, node


def create_pipeline() -> Pipeline:
    """Train on ``X_train``/``y_train``, predict ``X_test``, compare with ``y_test``."""
    return Pipeline(
        [
            node(train_model, ["X_train", "y_train", "params:model_options"], "model",
                 name="train_model"),
            node(predict, ["model", "X_test"], "y_pred", name="predict"),
            node(report_accuracy, ["y_pred", "y_test"], "metrics", name="report_accuracy"),
        ],
        tags="modelling",
    )
