"""A node's exception, from the worker process that raised it to the parent.

The worker sends the exception pickled when it survives a round trip, and always a
description (type, message, traceback text, the classes of its MRO). The parent rebuilds
the pickled exception, or else makes a :class:`~pipeloop.errors.RemoteError` that also
subclasses the original class (or its nearest base class importable here), so
``except`` clauses and ``node(retry_on=...)`` still match it by type.
"""

from __future__ import annotations

import importlib
import pickle
import traceback
from typing import Any

from pipeloop.errors import RemoteError

__all__ = ["RemoteTraceback", "describe", "rebuild"]


class RemoteTraceback(Exception):
    """Set as the ``__cause__`` of an exception raised in a worker: its traceback there (as
    ``concurrent.futures.ProcessPoolExecutor`` does)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text


def describe(exc: BaseException) -> dict[str, Any]:
    """In the worker: what the parent needs to raise ``exc`` again, or an error like it."""
    pickled: bytes | None
    try:
        pickled = pickle.dumps(exc, protocol=5)
        pickle.loads(pickled)  # an __init__ with other arguments fails only here
    except Exception:
        pickled = None
    kind = type(exc)
    return {
        "pickled": pickled,
        "type": f"{kind.__module__}.{kind.__qualname__}",
        "mro": [(cls.__module__, cls.__qualname__) for cls in kind.__mro__
                if issubclass(cls, BaseException)],
        "message": _message(exc),
        "notes": [str(note) for note in getattr(exc, "__notes__", ())],
        "traceback": "".join(traceback.format_exception(exc)),
    }


def rebuild(description: dict[str, Any]) -> BaseException:
    """In the parent: the worker's exception, with its remote traceback as its cause."""
    error: BaseException | None = None
    if description["pickled"] is not None:
        try:
            error = pickle.loads(description["pickled"])
        except Exception:  # its class cannot be imported here, or its state is refused
            error = None
    if error is None:
        error = _remote_error(description)
    error.__cause__ = RemoteTraceback(description["traceback"])
    return error


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return repr(exc.args)


def _remote_error(description: dict[str, Any]) -> BaseException:
    base = _nearest_importable(tuple(tuple(pair) for pair in description["mro"]))
    error = _remote_class(base)(description["message"])
    error.remote_type = description["type"]
    error.remote_traceback = description["traceback"]
    for note in description["notes"]:
        error.add_note(note)
    return error


def _nearest_importable(mro: tuple[tuple[str, str], ...]) -> type[BaseException]:
    for module_name, qualname in mro:
        try:
            found: Any = importlib.import_module(module_name)
            for part in qualname.split("."):
                found = getattr(found, part)
        except Exception:
            continue
        if isinstance(found, type) and issubclass(found, BaseException):
            return found
    return Exception


_CLASSES: dict[type[BaseException], type[RemoteError]] = {}


def _remote_class(base: type[BaseException]) -> type[RemoteError]:
    """A class that is both ``base`` and ``RemoteError``, named as ``base``; built without
    calling ``base.__init__`` (which may want other arguments). Made once per class."""
    made = _CLASSES.get(base)
    if made is None:
        made = _CLASSES[base] = _make_remote_class(base)
    return made


def _make_remote_class(base: type[BaseException]) -> type[RemoteError]:

    def __init__(self: RemoteError, message: str) -> None:
        BaseException.__init__(self, message)

    def __str__(self: RemoteError) -> str:
        return str(self.args[0]) if self.args else ""

    def __reduce__(self: RemoteError) -> Any:
        return (_rebuilt, (base, self.args[0] if self.args else "", self.remote_type,
                           self.remote_traceback))

    namespace = {"__init__": __init__, "__str__": __str__, "__reduce__": __reduce__,
                 "__new__": lambda cls, *args, **kwargs: BaseException.__new__(cls),
                 "__module__": base.__module__, "__qualname__": base.__qualname__}
    if issubclass(base, RemoteError):
        return base
    made: type[RemoteError]
    try:
        made = type(base.__name__, (base, RemoteError), namespace)
    except TypeError:  # a builtin whose layout cannot be combined
        made = type(base.__name__, (RemoteError,), namespace)
    return made


def _rebuilt(base: type[BaseException], message: str, remote_type: str,
             remote_traceback: str) -> RemoteError:
    error = _remote_class(base)(message)
    error.remote_type, error.remote_traceback = remote_type, remote_traceback
    return error
