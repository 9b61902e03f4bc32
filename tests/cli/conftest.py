"""Fixtures for the CLI tests: a small project written into a temporary folder, the iris
example copied out of the repository, and the command invoked in-process."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import IRIS, TOY_FILES, Invoke, write_files
from click.testing import CliRunner, Result

from pipeloop.cli.main import cli


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    """A project folder: ``make -> a``, ``double(a) -> b`` (versioned), ``extra.inc(a) -> c``,
    ``square(c) -> e``, ``total(b, c) -> d``, ``report(d, e) -> summary``; every dataset is
    a JSON file but ``summary``, which ``run`` returns."""
    return write_files(tmp_path / "toy", TOY_FILES)


@pytest.fixture
def iris(tmp_path: Path) -> Path:
    """A copy of examples/iris without any data a run wrote."""
    target = tmp_path / "iris"
    shutil.copytree(IRIS, target, ignore=shutil.ignore_patterns(
        "__pycache__", "05_model_input", "06_models", "08_reporting"))
    return target


@pytest.fixture(autouse=True)
def _isolate_imports() -> Iterator[None]:
    """Undo what loading projects does to ``sys.path`` and ``sys.modules``."""
    path = list(sys.path)
    modules = set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.split(".")[0] in {"toy", "iris", "hello_world", "demo"}:
            del sys.modules[name]


@pytest.fixture
def invoke() -> Invoke:
    """The ``pipeloop`` command in-process; unexpected exceptions propagate to the test."""

    def run(*args: str | Path, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(cli, [str(arg) for arg in args], env=env,
                                  catch_exceptions=False)

    return run
