"""Keeping what third-party imports do to ``logging`` from leaking between tests.

Importing ``kedro.framework.project`` (a benchmark, the Kedro bridge tests, kedro-datasets
types) configures the root logger with a rich handler on stdout, configures ``py.warnings``
and turns on ``logging.captureWarnings``. Left in place, every later test that reads a
command's output sees log lines there, and one that captures warnings finds capturing half on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def logging_kept() -> Iterator[None]:
    """Run the block, then put every logger (and warning capture) back as it was; loggers
    the block made are reset to new."""
    manager = logging.root.manager
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in
                                      list(manager.loggerDict))]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate, lg.disabled) for lg in loggers]
    capturing = logging._warnings_showwarning is not None  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if not capturing:
            logging.captureWarnings(False)
        known = set()
        for lg, handlers, level, propagate, disabled in saved:
            known.add(lg)
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.propagate = propagate
            lg.disabled = disabled
        for name in list(manager.loggerDict):
            lg = logging.getLogger(name)
            if lg not in known:
                lg.handlers.clear()
                lg.setLevel(logging.NOTSET)
                lg.propagate = True
                lg.disabled = False
