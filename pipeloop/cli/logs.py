"""The log lines a command prints on stderr: pipeloop's and the project's INFO records.

Kedro users read a run from its log (``Loading data from ...``, ``Running node: ...``,
``Completed 3 out of 4 tasks``, ``Pipeline execution completed successfully.``), so the CLI
shows INFO records of ``pipeloop.*`` and of the project's package, and only warnings from
everything else. ``warnings.warn`` messages become log records (of ``py.warnings``, as with
``logging.captureWarnings``). Every record made while the command runs is masked with the
command's secrets (see :mod:`pipeloop.cli.masking`), whichever handler prints it (Dask's
own, for one), and every line the command's handler prints passes through the mask again.
The set-up is undone when the command returns, so commands invoked in-process (tests,
notebooks) leave logging and warnings as they found them.
"""

from __future__ import annotations

import logging
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from pipeloop.cli.masking import MaskingFormatter, SecretMask, current_mask
from pipeloop.datasets.secrets import masking_log_records

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


def _log_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                 file: Any = None, line: str | None = None) -> None:
    """``warnings.showwarning`` for a command: the warning as a ``py.warnings`` record."""
    text = warnings.formatwarning(message, category, filename, lineno, line)
    logging.getLogger("py.warnings").warning("%s", text.rstrip("\n"))


@contextmanager
def _warnings_logged() -> Iterator[None]:
    shown = warnings.showwarning
    warnings.showwarning = _log_warning
    try:
        yield
    finally:
        if warnings.showwarning is _log_warning:
            warnings.showwarning = shown


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
    mask = mask if mask is not None else current_mask()
    handler = _StderrHandler()
    handler.setFormatter(MaskingFormatter(mask, _FORMAT, _DATE_FORMAT))
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
        with masking_log_records(mask), _warnings_logged():
            yield
    finally:
        root.removeHandler(handler)
        for logger, previous in saved:
            logger.setLevel(previous)
