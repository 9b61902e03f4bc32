"""From ``--runner``/``--parallel``/``--max-workers``/... to a runner object.

``--runner`` takes one of pipeloop's runner names or the dotted path of a user's runner class
(``my_project.runners:AuditRunner`` or ``my_project.runners.AuditRunner``), which must
subclass :class:`pipeloop.AbstractRunner`. Options that map to constructor arguments are
passed only when given, and an argument the class does not take is a usage error that says
which option it came from.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import pkgutil
from collections.abc import Mapping
from typing import Any

import pipeloop
from pipeloop.cli.errors import UsageProblem, describe_exception
from pipeloop.engine.runners.base import AbstractRunner
from pipeloop.errors import PipeloopError

__all__ = ["BUILTIN_RUNNERS", "check_choice", "make_runner", "runner_class"]

BUILTIN_RUNNERS = ("SequentialRunner", "ThreadRunner", "ParallelRunner", "DaskRunner",
                   "DryRunner")


def _builtin(name: str) -> Any:
    try:
        return getattr(pipeloop, name)
    except ImportError as exc:  # DaskRunner without the [dask] extra
        raise UsageProblem(f"Cannot use {name}: {describe_exception(exc)}",
                           hint="Install it with: pip install 'pipeloop[dask]'") from exc
    except AttributeError:
        pass
    try:  # a runner the package does not re-export (yet)
        module = importlib.import_module(f"pipeloop.engine.runners.{name[:-6].lower()}")
        return getattr(module, name)
    except ModuleNotFoundError as exc:
        raise UsageProblem(f"Cannot use {name}: {describe_exception(exc)}",
                           hint="Install it with: pip install 'pipeloop[dask]'") from exc
    except (ImportError, AttributeError) as exc:
        raise UsageProblem(f"Cannot use {name}: {describe_exception(exc)}") from exc


def _import_path(path: str) -> Any:
    if not path or path.endswith(":"):
        raise UsageProblem(f"Invalid runner path {path!r}: use 'package.module:RunnerClass'.")
    try:
        try:
            return pkgutil.resolve_name(path)
        except ModuleNotFoundError as exc:
            # Kedro's guide spells a project's runner src.<pkg>.runner.Class; the project's
            # src/ folder is on sys.path, so the package is importable without "src.".
            if not path.startswith("src.") or exc.name != "src":
                raise
            return pkgutil.resolve_name(path.removeprefix("src."))
    except ValueError:
        raise UsageProblem(
            f"Invalid runner path {path!r}: use 'package.module:RunnerClass'."
        ) from None
    except AttributeError as exc:
        raise UsageProblem(f"Cannot import runner '{path}': {exc}.") from None
    except Exception as exc:
        raise UsageProblem(f"Cannot import runner '{path}': {describe_exception(exc)}") from exc


def runner_class(name: str) -> type[AbstractRunner]:
    """The runner class ``--runner name`` means.

    Raises:
        UsageProblem: an unknown name (with close matches), a path that cannot be imported,
            or something that is not an ``AbstractRunner`` subclass.
    """
    name = name.strip()
    if name in BUILTIN_RUNNERS:
        found = _builtin(name)
    elif "." in name or ":" in name:
        found = _import_path(name)
    else:
        matches = difflib.get_close_matches(name, BUILTIN_RUNNERS, n=2, cutoff=0.5)
        matches += [b for b in BUILTIN_RUNNERS if b.lower().startswith(name.lower())
                    and b not in matches]
        hint = f" Did you mean {' or '.join(matches)}?" if matches else ""
        raise UsageProblem(
            f"Unknown runner '{name}'.{hint}",
            hint=f"Use one of {', '.join(BUILTIN_RUNNERS)}, or the dotted path of a runner "
            "class, e.g. my_project.runners:MyRunner.",
        )
    if not (isinstance(found, type) and issubclass(found, AbstractRunner)):
        raise UsageProblem(f"'{name}' is not a runner: it must be a subclass of "
                           "pipeloop.AbstractRunner.")
    return found


def _accepted(cls: type) -> tuple[set[str], bool]:
    """Keyword arguments ``cls`` takes, and whether it takes any (``**kwargs``)."""
    parameters = inspect.signature(cls).parameters.values()
    names = {p.name for p in parameters
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)


def check_choice(name: str | None, parallel: bool) -> None:
    """Refuse ``--parallel`` together with ``--runner``.

    Raises:
        UsageProblem: both were given.
    """
    if parallel and name is not None:
        raise UsageProblem("--parallel and --runner cannot be used together.",
                           hint="Use --runner ParallelRunner, or --parallel alone.")


def make_runner(
    name: str | None,
    *,
    parallel: bool = False,
    arguments: Mapping[str, tuple[str, Any]] | None = None,
) -> AbstractRunner:
    """The runner to run with.

    Args:
        name: ``--runner``; ``None`` for ``SequentialRunner`` (or ``ParallelRunner`` with
            ``parallel``).
        parallel: ``--parallel``.
        arguments: constructor argument -> (the option it came from, value), only for the
            options that were given.

    Raises:
        UsageProblem: ``--parallel`` with ``--runner``, an unknown runner, an argument the
            runner does not take, or a value the runner refuses.
    """
    check_choice(name, parallel)
    cls = runner_class(name or ("ParallelRunner" if parallel else "SequentialRunner"))
    arguments = dict(arguments or {})
    accepted, takes_any = _accepted(cls)
    refused = sorted(option for key, (option, _) in arguments.items()
                     if key not in accepted and not takes_any)
    if refused:
        raise UsageProblem(
            f"{cls.__name__} does not take {', '.join(refused)}.",
            hint=f"It takes: {', '.join(sorted(accepted)) or 'no arguments'}.",
        )
    try:
        return cls(**{key: value for key, (_, value) in arguments.items()})
    except (PipeloopError, TypeError, ValueError) as exc:
        raise UsageProblem(f"Cannot create {cls.__name__}: {describe_exception(exc)}") from exc
