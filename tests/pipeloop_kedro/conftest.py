"""Fixtures for the Kedro bridge tests (they need Kedro 1.x and kedro-datasets; every test
module skips without them)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from logging_state import logging_kept


def _import_kedro_keeping_logging() -> None:
    """Import Kedro's runners now, then undo the logging setup that importing them does.

    ``kedro.framework.project`` installs Kedro's rich logging handler on the root logger
    when first imported, and these tests' modules import it while pytest collects: every
    later test in the session would then log through Kedro's handler to stdout.
    """
    with logging_kept(), contextlib.suppress(ImportError):
        import kedro.runner  # noqa: F401


_import_kedro_keeping_logging()


@pytest.fixture(autouse=True)
def _restore_imports() -> Iterator[None]:
    """Undo what in-process Kedro runs do to ``sys.path`` and ``sys.modules``."""
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.startswith(("toy_kedro", "spaceflights")):
            del sys.modules[name]
