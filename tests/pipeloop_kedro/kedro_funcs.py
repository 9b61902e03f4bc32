"""Node functions for the in-process Kedro bridge tests, importable by worker processes."""

from __future__ import annotations


def add(a: int, b: int) -> int:
    return a + b


def double(x: int) -> int:
    return 2 * x


def split(x: int) -> dict[str, int]:
    return {"p": x, "q": -x}


def scale(value: int, factor: int) -> int:
    return value * factor


def fail(x: int) -> int:
    raise ValueError(f"node failed on {x}")
