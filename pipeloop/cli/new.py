"""``pipeloop new NAME``: scaffold a project that ``pipeloop run`` runs at once.

The files come from ``pipeloop/cli/templates/project``: each ``*.tmpl`` file is copied
without that suffix, with ``{{ project_name }}``, ``{{ package }}`` and
``{{ pipeloop_version }}`` filled in; a ``__package__`` folder takes the package's name and a
``dot_`` prefix becomes a dot (``dot_gitignore`` -> ``.gitignore``).
"""

from __future__ import annotations

import keyword
import re
import shlex
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path, PurePosixPath

import click

from pipeloop import __version__
from pipeloop.cli.errors import UsageProblem, reports_errors, verbose_option

__all__ = ["new_command", "package_name", "scaffold"]

_TEMPLATE = ("templates", "project")
_SUFFIX = ".tmpl"
_PROJECT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")


def package_name(project_name: str) -> str:
    """The import name for a project name: lower case, ``_`` for runs of other characters.

    Raises:
        UsageProblem: the result is not a valid Python identifier.
    """
    package = re.sub(r"[^0-9a-z]+", "_", project_name.lower()).strip("_")
    if not _is_package_name(package):
        raise UsageProblem(f"Cannot make a Python package name from '{project_name}' "
                           f"(got '{package}').",
                           hint="Start the name with a letter, or pass --package NAME.")
    return package


def _is_package_name(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _template_files(folder: Traversable, prefix: PurePosixPath) -> list[tuple[PurePosixPath,
                                                                              Traversable]]:
    found = []
    for item in sorted(folder.iterdir(), key=lambda entry: entry.name):
        if item.is_dir():
            if item.name != "__pycache__":
                found += _template_files(item, prefix / item.name)
        elif item.name.endswith(_SUFFIX):
            found.append((prefix / item.name, item))
    return found


def _target(relative: PurePosixPath, package: str) -> PurePosixPath:
    parts = []
    for part in relative.parts:
        part = part.removesuffix(_SUFFIX).replace("__package__", package)
        parts.append("." + part[4:] if part.startswith("dot_") else part)
    return PurePosixPath(*parts)


def scaffold(target: Path, project_name: str, package: str) -> list[Path]:
    """Write a new project into ``target`` (created; must not hold anything yet).

    Returns:
        The files written, in order.

    Raises:
        UsageProblem: ``target`` exists and is not an empty folder.
    """
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageProblem(f"Cannot create the project in {target}: it already exists and is "
                           "not an empty folder.", hint="Choose another NAME or --path.")
    values = {"project_name": project_name, "package": package,
              "pipeloop_version": __version__}
    template = files("pipeloop.cli").joinpath(*_TEMPLATE)
    written = []
    for relative, source in _template_files(template, PurePosixPath()):
        text = source.read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace("{{ %s }}" % key, value)  # noqa: UP031 - braces are literal
        path = target.joinpath(*_target(relative, package).parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


@click.command("new")
@click.argument("name")
@click.option("--path", "parent", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True,
              help="The folder to create the project in.")
@click.option("--package", help="The import name of the project's code (default: NAME in "
              "lower case, with underscores).")
@verbose_option
@reports_errors
def new_command(name: str, parent: Path, package: str | None) -> None:
    """Create project NAME: a pipeline, its registry, conf/, a test and a README."""
    if not _PROJECT_NAME.fullmatch(name):
        raise UsageProblem(f"Invalid project name '{name}': use letters, digits, '.', '_' and "
                           "'-', starting and ending with a letter or digit.")
    if package is None:
        package = package_name(name)
    elif not _is_package_name(package):
        raise UsageProblem(f"Invalid value for '--package': '{package}' is not a Python "
                           "identifier.")
    target = (parent / name).resolve()
    scaffold(target, name, package)
    click.echo(f"Created project '{name}' (package '{package}') in {target}")
    click.echo(f"Run it with: cd {shlex.quote(str(target))} && pipeloop run")
