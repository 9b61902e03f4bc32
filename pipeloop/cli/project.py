"""Finding a pipeloop project and making its code importable.

A project is a folder whose ``pyproject.toml`` has a ``[tool.pipeloop]`` table::

    [tool.pipeloop]
    package = "iris"                                          # required: the import name
    pipelines = "iris.pipeline_registry:register_pipelines"   # the default
    conf_source = "conf"                                      # the default

The package lives in ``src/<package>/`` (Kedro's layout) or at the project root. The folder
holding it goes first on ``sys.path``, so a project runs as it is, without being installed;
``ParallelRunner``'s worker processes copy ``sys.path`` when they start, so they find it too.
"""

from __future__ import annotations

import importlib
import os
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeloop.cli.errors import CliError, UsageProblem

__all__ = ["PYPROJECT", "Project", "find_project", "inside", "read_project"]

PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class Project:
    """A project's settings, with every path absolute.

    Attributes:
        root: the folder holding ``pyproject.toml``.
        package: the import name of the project's code.
        source_dir: the folder that holds the package (``root/src`` or ``root``).
        pipelines: ``"module:function"`` returning ``{name: Pipeline}``.
        conf_source: the configuration folder.
    """

    root: Path
    package: str
    source_dir: Path
    pipelines: str
    conf_source: Path

    def activate(self) -> None:
        """Make the package importable: put :attr:`source_dir` first on ``sys.path`` and
        forget modules of the same name imported from elsewhere (another project)."""
        source = str(self.source_dir)
        if source in sys.path:
            sys.path.remove(source)
        sys.path.insert(0, source)
        _forget_stale_modules(self.package, self.source_dir)
        importlib.invalidate_caches()


def _forget_stale_modules(package: str, source_dir: Path) -> None:
    loaded = sys.modules.get(package)
    origin = getattr(loaded, "__file__", None)
    if loaded is None or (origin and Path(origin).resolve().is_relative_to(source_dir)):
        return
    for name in [name for name in sys.modules if name == package or
                 name.startswith(f"{package}.")]:
        del sys.modules[name]


def _settings(pyproject: Path) -> dict[str, Any] | None:
    """The ``[tool.pipeloop]`` table of ``pyproject``, or ``None`` when it has none.

    Raises:
        CliError: the file is not valid TOML.
    """
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"Cannot read {pyproject}: {exc}") from exc
    table = data.get("tool", {}).get("pipeloop")
    return table if isinstance(table, dict) else None


def _setting(table: dict[str, Any], key: str, default: str | None, pyproject: Path) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise CliError(
            f"{pyproject}: [tool.pipeloop] {key} must be a non-empty string, not {value!r}.",
            hint='For example: package = "my_project"' if key == "package" else None,
        )
    return value.strip()


def read_project(root: Path) -> Project:
    """The project whose ``pyproject.toml`` is in ``root``.

    Raises:
        UsageProblem: ``root`` has no ``pyproject.toml`` with a ``[tool.pipeloop]`` table.
        CliError: the table is invalid, or the package folder does not exist.
    """
    root = root.resolve()
    pyproject = root / PYPROJECT
    table = _settings(pyproject) if pyproject.is_file() else None
    if table is None:
        raise UsageProblem(
            f"No pipeloop project at {root}: it needs a {PYPROJECT} with a [tool.pipeloop] "
            "table.",
            hint="Create one with `pipeloop new NAME`, or point --project at a project.",
        )
    package = _setting(table, "package", None, pyproject)
    pipelines = _setting(table, "pipelines", f"{package}.pipeline_registry:register_pipelines",
                         pyproject)
    conf_source = root / _setting(table, "conf_source", "conf", pyproject)
    return Project(root, package, _source_dir(root, package), pipelines, conf_source)


def _source_dir(root: Path, package: str) -> Path:
    top = package.split(".")[0]
    for folder in (root / "src", root):
        if (folder / top).is_dir() or (folder / f"{top}.py").is_file():
            return folder
    raise CliError(
        f"Cannot find the code of package '{package}' in {root}: expected "
        f"src/{top}/ or {top}/.",
    )


def find_project(path: str | os.PathLike[str] | None = None) -> Project:
    """The project at ``path``, or else the nearest one at or above the current folder.

    Raises:
        UsageProblem: no project there (``path``) or in any parent folder.
    """
    if path is not None:
        return read_project(Path(path))
    start = Path.cwd().resolve()
    for folder in (start, *start.parents):
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _settings(pyproject) is not None:
            return read_project(folder)
    raise UsageProblem(
        f"No pipeloop project found in {start} or its parents (looked for a {PYPROJECT} "
        "with a [tool.pipeloop] table).",
        hint="Run inside a project, pass --project PATH, or create one with `pipeloop new`.",
    )


@contextmanager
def inside(project: Project) -> Iterator[None]:
    """Work from the project's root (where relative dataset paths start), then return."""
    previous = Path.cwd()
    os.chdir(project.root)
    try:
        yield
    finally:
        os.chdir(previous)
