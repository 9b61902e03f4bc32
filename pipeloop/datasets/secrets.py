"""Keeping credentials out of what a program prints: the catalog's secrets, masked.

A catalog built from configuration knows the strings of its credentials
(:attr:`DataCatalog.secrets <pipeloop.datasets.catalog.DataCatalog.secrets>`). Datasets get
the credentials mapping in a wrapper whose ``repr`` hides the values, but a dataset may copy
it (``dict(credentials)``, ``{**credentials}``) and show the copy, and a driver's message
may quote a password (``user:password@host``). So the defence is on the output:

- **any text.** A :class:`SecretMasker` replaces every secret in a text by ``***``, in the
  forms the secret takes once quoted: ``repr``/``%r`` and ``ascii`` (backslashes doubled,
  quotes and unicode escaped), ``json.dumps``, URL quoting, a UTF-8 ``bytes`` repr, and those
  nested up to three deep (``repr`` of an exception whose message holds a ``repr``, as Dask
  prints it);
- **a log line.** :class:`MaskSecretsFilter` masks each record a handler emits (message,
  traceback, stack); :func:`masking_log_records` masks every record created in the process
  while it is active, whatever handler emits it; :func:`masking_warnings` masks what
  ``warnings.warn`` prints.

Example:
    >>> import logging
    >>> catalog = DataCatalog.from_config(conf, credentials)        # doctest: +SKIP
    >>> handler = logging.StreamHandler()
    >>> handler.addFilter(MaskSecretsFilter(catalog.secrets))        # doctest: +SKIP
    >>> logging.captureWarnings(True)  # so warnings.warn goes through the handler too

Strings shorter than four characters are not secrets here: hiding every ``s3`` or ``eu``
would garble the messages.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import urllib.parse
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

__all__ = [
    "MASK",
    "MaskSecretsFilter",
    "SecretMasker",
    "mask_record",
    "masking_log_records",
    "masking_warnings",
    "secret_strings",
]

#: What a secret is replaced with.
MASK = "***"
_MIN_SECRET_LENGTH = 4
# repr(exception) of a message holding a repr, itself quoted with %r: three levels.
_ESCAPE_DEPTH = 3


# -- which strings are secrets -------------------------------------------------------------------


def secret_strings(value: Any) -> set[str]:
    """Every string inside ``value`` (credentials, or a list of them) long enough to be
    masked; numbers count as the text they are written as (a numeric PIN is a secret too)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = int.__repr__(value) if isinstance(value, int) else repr(float(value))
    if isinstance(value, str):
        return {str(value)} if len(value) >= _MIN_SECRET_LENGTH else set()
    if isinstance(value, Mapping):
        value = list(value.values())
    if isinstance(value, list | tuple | set | frozenset):
        return set().union(*(secret_strings(inner) for inner in value))
    return set()


# -- the forms a secret takes in text ----------------------------------------------------------


def _python(escape: Callable[[str], str], quote: bool) -> Callable[[str], str]:
    """The inside of a Python string literal: each character as ``repr`` (or ``ascii``)
    writes it, the single quote escaped or not (``repr`` picks the quotes by the whole
    string, so both happen)."""

    def literal(text: str) -> str:
        return "".join("\\'" if quote and char == "'" else escape(char)[1:-1] for char in text)

    return literal


_ESCAPES: tuple[Callable[[str], str], ...] = (
    _python(repr, quote=False),
    _python(repr, quote=True),
    _python(ascii, quote=False),
    _python(ascii, quote=True),
    lambda text: json.dumps(text)[1:-1],
    lambda text: json.dumps(text, ensure_ascii=False)[1:-1],
)


def _escaped_forms(secret: str) -> set[str]:
    """``secret`` as it may appear in text: raw, URL-quoted, as UTF-8 bytes, and each of
    those escaped as a string literal up to ``_ESCAPE_DEPTH`` times."""
    level = {
        secret,
        urllib.parse.quote(secret, safe=""),
        urllib.parse.quote_plus(secret),
        secret.encode("utf-8", "surrogatepass").decode("latin-1"),  # inside a bytes repr
    }
    forms = set(level)
    for _ in range(_ESCAPE_DEPTH):
        level = {escape(form) for form in level for escape in _ESCAPES} - forms
        forms |= level
    return forms


class SecretMasker:
    """A set of secrets, and the ways to hide them in text and data.

    Thread-safe: secrets may be added while other threads mask.

    Args:
        secrets: the secret strings (shorter than four characters are ignored).

    Example:
        >>> masker = SecretMasker(["hunter2-pw"])
        >>> masker.mask("login user:hunter2-pw@db failed")
        'login user:***@db failed'
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._state: tuple[frozenset[str], re.Pattern[str] | None] = (frozenset(), None)
        self.add(secrets)

    @property
    def secrets(self) -> frozenset[str]:
        """The secrets masked."""
        return self._state[0]

    def add(self, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` too, from now on."""
        added = secret_strings(list(secrets))
        with self._lock:
            known, _ = self._state
            if added <= known:
                return
            known = known | added
            forms = set().union(*map(_escaped_forms, known))
            alternatives = sorted(forms, key=lambda form: (-len(form), form))
            pattern = re.compile("|".join(map(re.escape, alternatives)))
            self._state = (known, pattern)

    def __bool__(self) -> bool:
        return bool(self._state[0])

    def __repr__(self) -> str:
        return f"SecretMasker(<{len(self._state[0])} secrets>)"

    def mask(self, text: str) -> str:
        """``text`` with every secret, in any of its quoted forms, replaced by ``***``."""
        pattern = self._state[1]
        return text if pattern is None else pattern.sub(MASK, text)

    def mask_data(self, value: Any) -> Any:
        """``value`` (JSON-like: dicts, lists, strings, numbers) with every string masked."""
        if not self:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {self.mask_data(key): self.mask_data(inner) for key, inner in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_data(inner) for inner in value]
        return value


# -- log records -------------------------------------------------------------------------------

_FORMATTER = logging.Formatter()


def mask_record(record: logging.LogRecord, masker: SecretMasker) -> None:
    """Mask ``record`` in place: its message (arguments merged in), its traceback and its
    stack. A record whose message cannot be formatted is left for the handler to report."""
    if not masker:
        return
    try:
        message = record.getMessage()
    except Exception:
        return
    masked = masker.mask(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        text = _FORMATTER.formatException(record.exc_info)
        if masker.mask(text) != text:
            # Handlers that render exc_info themselves would show the secret: drop it.
            record.exc_info, record.exc_text = None, masker.mask(text)
    elif record.exc_text:
        record.exc_text = masker.mask(record.exc_text)
    if record.stack_info:
        record.stack_info = masker.mask(record.stack_info)


class MaskSecretsFilter(logging.Filter):
    """A logging filter that masks secrets in every record it sees (it drops none).

    Add it to a handler (``handler.addFilter(...)``): a filter on a handler sees every
    record the handler emits, those of child loggers included, whereas a filter on a logger
    sees only the records logged to that very logger. The record is masked in place, so
    other handlers of the record see it masked too. Call ``logging.captureWarnings(True)``
    to send ``warnings.warn`` messages through logging, and so through the filter.

    Args:
        secrets: a :class:`SecretMasker` (which may grow after the filter is made) or the
            secret strings, e.g. :attr:`DataCatalog.secrets`.
    """

    def __init__(self, secrets: SecretMasker | Iterable[str] = ()) -> None:
        super().__init__()
        self.masker = secrets if isinstance(secrets, SecretMasker) else SecretMasker(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        mask_record(record, self.masker)
        return True


_active: list[SecretMasker] = []
_active_lock = threading.Lock()
_previous_factory: Callable[..., logging.LogRecord] | None = None


def _masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    assert _previous_factory is not None
    record = _previous_factory(*args, **kwargs)
    for masker in tuple(_active):
        mask_record(record, masker)
    return record


@contextmanager
def masking_log_records(secrets: SecretMasker | Iterable[str]) -> Iterator[SecretMasker]:
    """Mask every log record created in this process while the block runs, whatever
    handler emits it (those of libraries that print on their own, such as Dask's, and
    ``logging.lastResort``).

    Masking happens when a record is made, through the log record factory; the factory is
    installed once and does nothing while no block is active. Blocks may nest and overlap
    (several runs at once): a record is masked with the secrets of every active block.

    Args:
        secrets: a :class:`SecretMasker` (which may grow meanwhile) or the secret strings.

    Yields:
        The masker in use.
    """
    global _previous_factory
    masker = secrets if isinstance(secrets, SecretMasker) else SecretMasker(secrets)
    with _active_lock:
        if _previous_factory is None:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_masking_factory)
        _active.append(masker)
    try:
        yield masker
    finally:
        with _active_lock:
            _active.remove(masker)


@contextmanager
def masking_warnings(secrets: SecretMasker | Iterable[str]) -> Iterator[SecretMasker]:
    """Mask the messages ``warnings.warn`` shows while the block runs, where they are shown
    as usual (``warnings.showwarning``, wrapped). Use ``logging.captureWarnings(True)`` and
    a :class:`MaskSecretsFilter` instead where warnings belong in the log.

    Args:
        secrets: a :class:`SecretMasker` (which may grow meanwhile) or the secret strings.

    Yields:
        The masker in use.
    """
    masker = secrets if isinstance(secrets, SecretMasker) else SecretMasker(secrets)
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: Any = None, line: str | None = None) -> None:
        shown(masker.mask(str(message)), category, filename, lineno, file, line)

    warnings.showwarning = show
    try:
        yield masker
    finally:
        if warnings.showwarning is show:
            warnings.showwarning = shown
