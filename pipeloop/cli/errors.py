"""How the CLI reports errors: one or two readable lines on stderr, never a raw traceback.

Exit statuses follow click's convention:

- ``0``: success;
- ``1``: the run (or the project it loads) failed: a node raised, a dataset could not be
  loaded, the configuration is invalid;
- ``2``: the command line is wrong: an unknown option, pipeline or runner, bad ``--params``
  syntax, options that cannot be used together, filters that leave no nodes, no project,
  ``run --resume`` with no failed or interrupted run to resume;
- ``128 + N``: the command was stopped by signal N: ``130`` for Ctrl-C (SIGINT), ``143``
  for SIGTERM.

``--verbose`` (or ``PIPELOOP_VERBOSE=1``) prints the full traceback before the short message.
Messages and tracebacks pass through the command's secret mask (:mod:`pipeloop.cli.masking`).
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import click

from pipeloop.cli.masking import SecretMask, current_mask
from pipeloop.engine.registry import describe_exception as describe_library_exception
from pipeloop.errors import (
    MissingInputsError,
    PipelineError,
    PipeloopError,
    ProjectNotFoundError,
    ResumeError,
    UnknownParameterError,
)

__all__ = [
    "EXIT_FAILURE",
    "EXIT_STATUSES",
    "EXIT_USAGE",
    "VERBOSE_ENV",
    "CliError",
    "Interrupted",
    "UsageProblem",
    "describe_exception",
    "exit_status",
    "is_verbose",
    "print_traceback",
    "reports_errors",
    "set_verbose",
    "signal_name",
    "verbose_option",
]

EXIT_FAILURE = 1
EXIT_USAGE = 2

VERBOSE_ENV = "PIPELOOP_VERBOSE"
_VERBOSE_KEY = "pipeloop.verbose"
_TRUE = frozenset({"1", "true", "yes", "on"})

P = ParamSpec("P")
R = TypeVar("R")


class CliError(click.ClickException):
    """A failure reported as ``Error: <message>`` and, optionally, a second hint line.

    Args:
        message: what went wrong, naming the thing at fault.
        hint: what to do about it (printed on its own line).
    """

    exit_code = EXIT_FAILURE

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
        self.mask: SecretMask | None = None

    def format_message(self) -> str:
        text = self.message if self.hint is None else f"{self.message}\n{self.hint}"
        return text if self.mask is None else self.mask.mask(text)


class UsageProblem(CliError):
    """A command line that cannot work as given; exits with status 2."""

    exit_code = EXIT_USAGE


class Interrupted(CliError):
    """The command was stopped by a signal; exits with status 128 + its number.

    Args:
        signum: the signal (``signal.SIGINT`` for Ctrl-C, ``signal.SIGTERM``).
        message: what was stopped, and what is left undone.
        hint: what to do about it (how to resume).
    """

    def __init__(self, signum: int, message: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.signum = signum

    @property
    def exit_code(self) -> int:  # type: ignore[override]  # a property, per instance
        """``128 + signum``: 130 for SIGINT, 143 for SIGTERM."""
        return 128 + self.signum


def signal_name(signum: int) -> str:
    """``SIGINT`` for ``2``; the number itself for a signal Python does not name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def is_verbose() -> bool:
    """Whether ``--verbose`` was given to the current command, or ``PIPELOOP_VERBOSE`` is set."""
    context = click.get_current_context(silent=True)
    if context is not None and context.meta.get(_VERBOSE_KEY):
        return True
    return os.environ.get(VERBOSE_ENV, "").strip().lower() in _TRUE


def set_verbose(context: click.Context, _param: click.Parameter, value: bool) -> bool:
    """Callback of the ``--verbose`` option: remember it for :func:`is_verbose`."""
    if value:
        context.meta[_VERBOSE_KEY] = True
    return value


def describe_exception(exc: BaseException) -> str:
    """One line saying what ``exc`` is (see :func:`pipeloop.engine.registry.
    describe_exception`); a group, each of its exceptions."""
    if isinstance(exc, BaseExceptionGroup) and not isinstance(exc, PipeloopError):
        return "; ".join(describe_exception(inner) for inner in exc.exceptions)
    text = describe_library_exception(exc)
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


def print_traceback(exc: BaseException) -> None:
    """Print ``exc`` and its chain on stderr, as Python would, with secrets masked."""
    sys.stderr.write(current_mask().mask("".join(traceback.format_exception(exc))))


#: The exit status of each library error, first match wins: the one table of the CLI.
EXIT_STATUSES: tuple[tuple[type[BaseException], int], ...] = (
    (MissingInputsError, EXIT_FAILURE),
    (ProjectNotFoundError, EXIT_USAGE),
    (ResumeError, EXIT_USAGE),
    (UnknownParameterError, EXIT_USAGE),  # a --params key that matches no parameter
    (PipelineError, EXIT_USAGE),  # unknown pipeline names, filters that keep no node
    (Exception, EXIT_FAILURE),
)


def exit_status(exc: BaseException) -> int:
    """The exit status a command ends with when ``exc`` stops it."""
    return next(status for kind, status in EXIT_STATUSES if isinstance(exc, kind))


def reports_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so that any error ends as a short message and an exit status.

    Click's own exceptions pass through. Anything else becomes a :class:`CliError` (exit
    status 1) describing it in one line; with ``--verbose`` the traceback comes first.
    ``KeyboardInterrupt`` (Ctrl-C outside a run, which handles its own) ends the command
    with status 130 and no traceback. Secrets are masked in every message.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CliError as exc:
            if is_verbose() and exc.__cause__ is not None:
                print_traceback(exc.__cause__)
            exc.mask = current_mask()
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise Interrupted(signal.SIGINT, "Interrupted.") from None
        except Exception as exc:
            if is_verbose():
                print_traceback(exc)
            kind = UsageProblem if exit_status(exc) == EXIT_USAGE else CliError
            error = kind(describe_exception(exc), hint=getattr(exc, "hint", None))
            error.mask = current_mask()
            raise error from exc

    return wrapper


def verbose_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """The ``--verbose`` flag every command takes."""
    return click.option(
        "--verbose", "-v", is_flag=True, expose_value=False, is_eager=True,
        callback=set_verbose,
        help=f"Show full tracebacks on errors (or set {VERBOSE_ENV}=1).",
    )(func)
