"""The log lines a command prints on stderr: pipeloop's and the project's INFO records.

Kedro users read a run from its log (``Loading data from ...``, ``Running node: ...``,
``Completed 3 out of 4 tasks``, ``Pipeline execution completed successfully.``), so the CLI
shows INFO records of ``pipeloop.*`` and of the project's package, and only warnings from
everything else. Every line passes through the command's secret mask (see
:mod:`pipeloop.cli.masking`). The set-up is undone when the command returns, so commands
invoked in-process (tests, notebooks) leave logging as they found it.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from pipeloop.cli.masking import MaskingFormatter, SecretMask, current_mask

__all__ = ["command_logging"]

_FORMAT = "%(asctime)s %(levelname)-7s %(message)s"
_DATE_FORMAT = "%H:%M:%S"


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is at the time of each record, so a progress
    display (or a test runner) that replaces ``sys.stderr`` gets the lines."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


# Libraries that log every routine step at INFO with handlers of their own (Dask starts and
# stops a cluster per DaskRunner run): only their warnings belong in a run's log.
_CHATTY_LIBRARIES = ("distributed",)


@contextmanager
def command_logging(*packages: str, level: int = logging.INFO,
                    mask: SecretMask | None = None) -> Iterator[None]:
    """Show ``level`` records of ``pipeloop`` and ``packages``, warnings of the rest.

    Args:
        packages: logger names (the project's package) shown like pipeloop's.
        level: the level shown for pipeloop and ``packages``.
        mask: the secrets to hide in every line (default: the command's, which grows as
            the command loads the project's credentials).
    """
    handler = _StderrHandler()
    handler.setFormatter(MaskingFormatter(mask if mask is not None else current_mask(),
                                          _FORMAT, _DATE_FORMAT))
    root = logging.getLogger()
    loggers = [logging.getLogger(name) for name in ("pipeloop", *packages)]
    chatty = [logging.getLogger(name) for name in _CHATTY_LIBRARIES]
    saved = [(logger, logger.level) for logger in (root, *loggers, *chatty)]
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    for logger in loggers:
        logger.setLevel(level)
    for logger in chatty:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(handler)
        for logger, previous in saved:
            logger.setLevel(previous)
