"""Finding a project's pipelines by the folder they live in, as Kedro's ``find_pipelines``.

A project lays out one sub-package per pipeline::

    my_project/
      pipeline_registry.py        register_pipelines() -> find_pipelines()
      pipeline.py                 optional: create_pipeline() for "__default__"
      pipelines/
        ingest/__init__.py        create_pipeline() -> Pipeline   => "ingest"
        model/__init__.py         create_pipeline() -> Pipeline   => "model"

so that adding a pipeline is adding a folder, with no registry to keep in step.
"""

from __future__ import annotations

import importlib
import importlib.resources
import sys
import traceback
import warnings
from types import ModuleType

from pipeloop.engine.pipeline import Pipeline

__all__ = ["DEFAULT_PIPELINE", "find_pipelines"]

DEFAULT_PIPELINE = "__default__"


def _caller_package(depth: int) -> str:
    frame = sys._getframe(depth + 1)
    package = frame.f_globals.get("__package__") or ""
    if not package:
        name = frame.f_globals.get("__name__", "")
        package = name if name and name != "__main__" else ""
    if not package:
        raise ValueError(
            "find_pipelines() cannot tell the project's package from a top-level script; "
            "pass it: find_pipelines(package='my_project')."
        )
    return str(package)


def _problem(message: str, *, raise_errors: bool, cause: BaseException | None = None) -> None:
    if raise_errors:
        raise ImportError(message) from cause
    details = "".join(traceback.format_exception(cause)) if cause is not None else ""
    warnings.warn(message + ("\n" + details if details else ""), UserWarning, stacklevel=4)


def _import(module_name: str, *, raise_errors: bool, optional: bool) -> ModuleType | None:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if optional and exc.name == module_name:
            return None
        _problem(f"An error occurred while importing the '{module_name}' module; nothing "
                 "defined therein is registered.", raise_errors=raise_errors, cause=exc)
    except Exception as exc:
        _problem(f"An error occurred while importing the '{module_name}' module; nothing "
                 "defined therein is registered.", raise_errors=raise_errors, cause=exc)
    return None


def _create_pipeline(module: ModuleType, *, raise_errors: bool) -> Pipeline | None:
    create = getattr(module, "create_pipeline", None)
    if not callable(create):
        _problem(f"The '{module.__name__}' module has no 'create_pipeline' function; "
                 "nothing defined therein is registered.", raise_errors=raise_errors)
        return None
    made = create()
    if not isinstance(made, Pipeline):
        _problem(f"'create_pipeline' in the '{module.__name__}' module returned "
                 f"{type(made).__name__}, not a Pipeline; nothing defined therein is "
                 "registered.", raise_errors=raise_errors)
        return None
    return made


def find_pipelines(
    package: str | None = None, *, raise_errors: bool = False
) -> dict[str, Pipeline]:
    """Every ``<package>.pipelines.<name>.create_pipeline()``, by ``<name>``.

    ``"__default__"`` is ``<package>.pipeline.create_pipeline()`` where that module exists
    (the one-pipeline layout), else the sum of every pipeline found. A Kedro registry's
    ``pipelines["__default__"] = sum(pipelines.values())`` gives the same sum (adding a
    pipeline to itself keeps one copy of each node).

    Args:
        package: the project's import name; by default the package of the module that
            calls (``my_project`` for ``my_project.pipeline_registry``).
        raise_errors: raise instead of warning when a pipeline module cannot be imported,
            has no ``create_pipeline``, or returns something that is not a Pipeline.

    Returns:
        Pipeline name -> Pipeline, names sorted, ``"__default__"`` first.

    Raises:
        ImportError: with ``raise_errors``, for the problems above (chained to the cause).
        ValueError: ``package`` is not given and the caller is a top-level script.

    Warns:
        UserWarning: without ``raise_errors``, for the problems above; the pipeline is left
            out.

    Example:
        >>> def register_pipelines() -> dict[str, Pipeline]:   # doctest: +SKIP
        ...     return find_pipelines(raise_errors=True)
    """
    package = package or _caller_package(1)
    found: dict[str, Pipeline] = {}
    default: Pipeline | None = None
    single = _import(f"{package}.pipeline", raise_errors=raise_errors, optional=True)
    if single is not None:
        default = _create_pipeline(single, raise_errors=raise_errors)
    pipelines = _import(f"{package}.pipelines", raise_errors=raise_errors, optional=True)
    if pipelines is not None and hasattr(pipelines, "__path__"):
        folders = importlib.resources.files(pipelines.__name__).iterdir()
        for name in sorted(entry.name for entry in folders if entry.is_dir()):
            if name.startswith((".", "_")) or not name.isidentifier():
                continue
            module = _import(f"{pipelines.__name__}.{name}", raise_errors=raise_errors,
                             optional=False)
            made = _create_pipeline(module, raise_errors=raise_errors) if module else None
            if made is not None:
                found[name] = made
    if default is None:
        default = sum(found.values(), Pipeline([]))
    return {DEFAULT_PIPELINE: default, **found}
