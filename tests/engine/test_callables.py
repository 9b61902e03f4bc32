"""What kind of callable a node wraps."""

from __future__ import annotations

import functools
from typing import Any

from pipeloop.engine.callables import func_name, generator_kind, same_function, signature


def scale(x: int, factor: int) -> int:
    return x * factor


def chunks() -> Any:
    yield 1


async def achunks() -> Any:
    yield 1


def test_same_function_sees_through_partials_made_twice() -> None:
    assert same_function(scale, scale)
    assert same_function(functools.partial(scale, factor=2), functools.partial(scale, factor=2))
    assert not same_function(functools.partial(scale, factor=2),
                             functools.partial(scale, factor=3))
    assert not same_function(scale, chunks)


def test_generator_kind() -> None:
    assert generator_kind(chunks) == "sync"
    assert generator_kind(achunks) == "async"
    assert generator_kind(functools.partial(achunks)) == "async"
    assert generator_kind(scale) is None


def test_signature_leaves_out_bound_arguments() -> None:
    wrapped = functools.update_wrapper(functools.partial(scale, factor=2), scale)
    found = signature(wrapped)
    assert found is not None
    assert list(found.parameters) == ["x", "factor"]
    assert found.parameters["factor"].default == 2
    assert func_name(wrapped) == "scale"
