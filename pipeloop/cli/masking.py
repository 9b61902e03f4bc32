"""Keeping credentials out of everything a command prints or writes.

The library does the masking (:mod:`pipeloop.datasets.secrets`); this module says what a
command masks and where. Datasets hide their credentials in ``repr``, but a dataset's own
error message may still quote them (a driver refusing ``user:password@host``), and so may
what a node logs or warns. The CLI therefore masks, as a last line of defence, every string
of the project's credentials — from ``credentials*.yml`` and from inline ``credentials:``
entries of the catalog — in its log lines and warnings, its error messages and tracebacks,
and the ``--trace`` file.

One :class:`SecretMask` serves a whole command: :func:`current_mask` finds it in the click
context, :func:`~pipeloop.cli.conf.load_catalog` fills it, and the log handler, the error
report and the trace writer use it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import click

from pipeloop.datasets.config import ConfigLoader
from pipeloop.datasets.secrets import SecretMasker, secret_strings

__all__ = ["MaskingFormatter", "SecretMask", "credential_strings", "current_mask"]

_MASK_KEY = "pipeloop.secret_mask"
_CREDENTIALS = "credentials"


#: The secret strings of one command, and the ways to hide them.
SecretMask = SecretMasker


def current_mask() -> SecretMask:
    """The mask of the command being run (a new, empty one outside any command)."""
    context = click.get_current_context(silent=True)
    if context is None:
        return SecretMask()
    mask = context.meta.get(_MASK_KEY)
    if mask is None:
        mask = context.meta[_MASK_KEY] = SecretMask()
    return mask


def _inline(entry: Any) -> list[Any]:
    """The ``credentials:`` mappings written inside catalog entries, at any depth."""
    if not isinstance(entry, Mapping):
        return []
    found: list[Any] = []
    for key, value in entry.items():
        if key == _CREDENTIALS and not isinstance(value, str):
            found.append(value)
        else:
            found += _inline(value)
    return found


def credential_strings(loader: ConfigLoader) -> set[str]:
    """Every secret string of a project's configuration: the values in its credentials
    files and in the catalog's inline ``credentials:`` mappings.

    Raises:
        ConfigError: a credentials or catalog file cannot be read.
    """
    return secret_strings([loader.credentials, _inline(loader.catalog)])


class MaskingFormatter(logging.Formatter):
    """A formatter whose lines (message, traceback and all) pass through a mask.

    Args:
        mask: what to hide; it may grow after the formatter is made.
        fmt: as :class:`logging.Formatter`.
        datefmt: as :class:`logging.Formatter`.
    """

    def __init__(self, mask: SecretMask, fmt: str | None = None,
                 datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)
        self._mask = mask

    def format(self, record: logging.LogRecord) -> str:
        return self._mask.mask(super().format(record))
