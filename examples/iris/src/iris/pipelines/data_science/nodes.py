"""A multinomial logistic regression in pure Python, and its evaluation.

The features are standardised with the training set's mean and spread, then the weights are
fitted by full-batch gradient descent on the cross-entropy, starting from zero: no
randomness, so every run (and every runner) learns exactly the same model.
"""

from __future__ import annotations

import logging
import math
from typing import Any

logger = logging.getLogger(__name__)

Matrix = list[list[float]]


def _standardiser(rows: Matrix) -> tuple[list[float], list[float]]:
    columns = list(zip(*rows, strict=True))
    means = [sum(column) / len(column) for column in columns]
    spreads = [
        math.sqrt(sum((x - mean) ** 2 for x in column) / len(column)) or 1.0
        for column, mean in zip(columns, means, strict=True)
    ]
    return means, spreads


def _prepare(rows: Matrix, means: list[float], spreads: list[float]) -> Matrix:
    """Standardised features, with a constant 1 first for the bias."""
    return [
        [1.0] + [(x - m) / s for x, m, s in zip(row, means, spreads, strict=True)]
        for row in rows
    ]


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(score - top) for score in scores]
    total = sum(exps)
    return [value / total for value in exps]


def _scores(weights: Matrix, x: list[float]) -> list[float]:
    return [sum(w * v for w, v in zip(row, x, strict=True)) for row in weights]


def train_model(X_train: Matrix, y_train: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """Fit a multinomial logistic regression.

    Args:
        X_train: one row of four measurements per flower.
        y_train: the species of each flower.
        options: ``learning_rate`` and ``epochs``.

    Returns:
        The model as plain data (saved as JSON): classes, standardisation and weights.
    """
    classes = sorted(set(y_train))
    means, spreads = _standardiser(X_train)
    xs = _prepare(X_train, means, spreads)
    targets = [[1.0 if label == cls else 0.0 for cls in classes] for label in y_train]
    weights = [[0.0] * len(xs[0]) for _ in classes]
    rate = float(options["learning_rate"])
    for _ in range(int(options["epochs"])):
        gradient = [[0.0] * len(xs[0]) for _ in classes]
        for x, target in zip(xs, targets, strict=True):
            probabilities = _softmax(_scores(weights, x))
            for k, (p, t) in enumerate(zip(probabilities, target, strict=True)):
                error = p - t
                gradient[k] = [g + error * v for g, v in zip(gradient[k], x, strict=True)]
        weights = [
            [w - rate * g / len(xs) for w, g in zip(row, grad, strict=True)]
            for row, grad in zip(weights, gradient, strict=True)
        ]
    return {"classes": classes, "means": means, "spreads": spreads, "weights": weights}


def predict(model: dict[str, Any], X_test: Matrix) -> list[str]:
    """The most probable species of each test flower."""
    xs = _prepare(X_test, model["means"], model["spreads"])
    predictions = []
    for x in xs:
        scores = _scores(model["weights"], x)
        predictions.append(model["classes"][scores.index(max(scores))])
    return predictions


def report_accuracy(y_pred: list[str], y_test: list[str]) -> dict[str, Any]:
    """Log the share of correct predictions, and return it as the run's metrics."""
    correct = sum(p == t for p, t in zip(y_pred, y_test, strict=True))
    accuracy = correct / len(y_test)
    logger.info("Model has an accuracy of %.3f on test data (%d of %d correct).",
                accuracy, correct, len(y_test))
    return {"accuracy": accuracy, "correct": correct, "total": len(y_test)}
