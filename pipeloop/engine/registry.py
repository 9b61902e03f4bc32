"""A project's pipelines by name, and choosing the ones a command asks for.

The registry function (``[tool.pipeloop] pipelines``) returns ``{name: Pipeline}``;
``"__default__"`` is what runs when no pipeline is named.
"""

from __future__ import annotations

import contextlib
import difflib
import pkgutil
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path

from pipeloop.engine.pipeline import Pipeline
from pipeloop.errors import ConfigError, PipelineError, PipeloopError

__all__ = ["DEFAULT_PIPELINE", "describe_exception", "load_pipelines", "raised_at",
           "select_pipelines"]

DEFAULT_PIPELINE = "__default__"

_PIPELOOP = Path(__file__).resolve().parents[1]


def describe_exception(exc: BaseException) -> str:
    """What ``exc`` says: pipeloop's own messages as they are; anything else prefixed with
    its type (``ValueError: boom``), a ``SyntaxError`` with its file and line."""
    if isinstance(exc, PipeloopError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, SyntaxError) and exc.filename:
        return f"{type(exc).__name__}: {exc.msg} ({exc.filename}, line {exc.lineno})"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def raised_at(exc: BaseException) -> str | None:
    """Where the root cause of ``exc`` was raised in the user's code: ``path, line N`` of the
    innermost frame that is neither Python's import machinery nor pipeloop itself (for an
    ``import`` of a missing module, the line with the ``import``)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, SyntaxError) and exc.filename:
        return None  # describe_exception already says where
    place = None
    for frame, line in traceback.walk_tb(exc.__traceback__):
        filename = frame.f_code.co_filename
        if filename.startswith("<") or Path(filename).is_relative_to(_PIPELOOP):
            continue
        place = (filename, line)
    if place is None:
        return None
    path = Path(place[0])
    with contextlib.suppress(ValueError):
        path = path.relative_to(Path.cwd())
    return f"{path}, line {place[1]}"


def _located(exc: BaseException) -> str:
    """``describe_exception(exc)``, and where its cause was raised."""
    where = raised_at(exc)
    return describe_exception(exc) + (f" (at {where})" if where else "")


def _registry_function(spec: str) -> object:
    if not spec or spec.endswith(":"):
        raise ConfigError(f"Invalid pipelines setting {spec!r}: use 'package.module:function'.")
    try:
        return pkgutil.resolve_name(spec)
    except ValueError:
        raise ConfigError(
            f"Invalid pipelines setting {spec!r}: use 'package.module:function'."
        ) from None
    except AttributeError as exc:
        module = getattr(exc.obj, "__name__", spec)
        raise ConfigError(f"Module '{module}' has no function '{exc.name}' "
                       f"(the [tool.pipeloop] pipelines setting).") from None
    except Exception as exc:
        raise ConfigError(
            f"Cannot load the pipelines from '{spec}': {_located(exc)}"
        ) from exc


def load_pipelines(spec: str) -> dict[str, Pipeline]:
    """Call the project's registry function and check what it returns.

    Raises:
        ConfigError: the registry cannot be imported or called, or does not return a mapping
            of names to pipelines.
    """
    function = _registry_function(spec)
    if not callable(function):
        raise ConfigError(f"'{spec}' is not a function.")
    try:
        pipelines = function()
    except Exception as exc:
        raise ConfigError(
            f"Registering the pipelines failed in '{spec}': {_located(exc)}"
        ) from exc
    if not isinstance(pipelines, Mapping) or not all(
        isinstance(name, str) and isinstance(value, Pipeline)
        for name, value in pipelines.items()
    ):
        raise ConfigError(f"'{spec}' must return a dict of names to Pipeline "
                       f"objects, not {type(pipelines).__name__}.")
    return dict(pipelines)


def select_pipelines(pipelines: Mapping[str, Pipeline], names: Sequence[str]) -> Pipeline:
    """The sum of the named pipelines (``__default__`` when ``names`` is empty).

    Raises:
        PipelineError: a name is not registered; the message lists close matches.
    """
    wanted = list(names) or [DEFAULT_PIPELINE]
    unknown = [name for name in wanted if name not in pipelines]
    if unknown:
        raise PipelineError(_unknown_message(unknown, pipelines))
    selected = [pipelines[name] for name in wanted]
    return selected[0] if len(selected) == 1 else Pipeline(selected)


def _unknown_message(unknown: list[str], pipelines: Mapping[str, Pipeline]) -> str:
    known = sorted(pipelines)
    if unknown == [DEFAULT_PIPELINE]:
        return (f"The project registers no '{DEFAULT_PIPELINE}' pipeline; name one with "
                f"--pipeline: {', '.join(known) or 'none registered'}.")
    matches = sorted({m for name in unknown for m in difflib.get_close_matches(name, known)})
    message = f"Unknown pipeline {', '.join(repr(name) for name in unknown)}."
    if matches:
        message += f" Did you mean {' or '.join(repr(m) for m in matches)}?"
    return f"{message} Registered pipelines: {', '.join(known) or 'none'}."
