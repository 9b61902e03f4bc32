"""Keep what importing Kedro does to logging inside the benchmark tests.

Importing ``kedro.framework.project`` configures the root logger with a rich handler on
stdout; without this, every later test that reads a command's output would see pipeloop's
log lines there too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    loggers = [logging.getLogger(), *(logging.getLogger(name) for name in
                                      list(logging.root.manager.loggerDict))]
    saved = [(lg, list(lg.handlers), lg.level, lg.propagate) for lg in loggers]
    yield
    known = {lg for lg, *_ in saved}
    for lg, handlers, level, propagate in saved:
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate
    for name in list(logging.root.manager.loggerDict):
        lg = logging.getLogger(name)
        if lg not in known:
            lg.handlers.clear()
