"""Transcoded dataset names, through the helpers the scheduler links nodes with."""

from __future__ import annotations

import pytest

from pipeloop.engine.transcoding import (
    TRANSCODING_SEPARATOR,
    is_transcoded,
    split_transcoding,
    strip_transcoding,
)


@pytest.mark.parametrize(
    ("name", "base", "fmt"),
    [("ds@pandas", "ds", "pandas"), ("ds", "ds", ""), ("ns.ds@spark", "ns.ds", "spark"),
     ("params:x", "params:x", "")],
)
def test_split_and_strip(name: str, base: str, fmt: str) -> None:
    assert split_transcoding(name) == (base, fmt)
    assert strip_transcoding(name) == base
    assert is_transcoded(name) == bool(fmt)


def test_separator_is_kedros() -> None:
    assert TRANSCODING_SEPARATOR == "@"
