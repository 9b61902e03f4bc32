"""Splitting the iris rows into train and test sets."""

from __future__ import annotations

import logging
import random
from typing import Any

logger = logging.getLogger(__name__)

FEATURES = ("sepal_length", "sepal_width", "petal_length", "petal_width")
LABEL = "species"


def split_data(
    data: list[dict[str, Any]], test_data_ratio: float, random_seed: int
) -> tuple[list[list[float]], list[list[float]], list[str], list[str]]:
    """Shuffle the rows (with a fixed seed, so every run splits alike) and hold out
    ``test_data_ratio`` of them for testing.

    Args:
        data: rows of the CSV, values as text.
        test_data_ratio: the share of rows to test on, between 0 and 1.
        random_seed: the seed of the shuffle.

    Returns:
        Train features, test features, train labels, test labels.
    """
    if not 0 < test_data_ratio < 1:
        raise ValueError(f"test_data_ratio must be between 0 and 1, not {test_data_ratio}.")
    rows = list(data)
    random.Random(random_seed).shuffle(rows)
    n_test = round(len(rows) * test_data_ratio)
    test, train = rows[:n_test], rows[n_test:]
    logger.info("Split %d rows: %d to train, %d to test.", len(rows), len(train), len(test))
    return _features(train), _features(test), _labels(train), _labels(test)


def _features(rows: list[dict[str, Any]]) -> list[list[float]]:
    return [[float(row[name]) for name in FEATURES] for row in rows]


def _labels(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row[LABEL]) for row in rows]
