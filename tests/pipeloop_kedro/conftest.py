"""Fixtures for the Kedro bridge tests (they need Kedro 1.x and kedro-datasets; every test
module skips without them)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(autouse=True)
def _restore_imports() -> Iterator[None]:
    """Undo what in-process Kedro runs do to ``sys.path`` and ``sys.modules``."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith(("toy_kedro", "spaceflights")):
            del sys.modules[name]
