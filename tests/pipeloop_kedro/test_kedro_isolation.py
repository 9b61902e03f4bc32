"""Kedro stays optional: only ``pipeloop.kedro`` imports it (runs with or without Kedro)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import pipeloop

PACKAGE = Path(pipeloop.__file__).parent


def _imports_kedro(path: Path) -> bool:
    for statement in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(statement, ast.Import):
            names = [alias.name for alias in statement.names]
        elif isinstance(statement, ast.ImportFrom) and not statement.level:
            names = [statement.module or ""]
        else:
            continue
        if any(name == "kedro" or name.startswith(("kedro.", "kedro_datasets")) for name in names):
            return True
    return False


# The adapter of kedro-datasets classes named in catalog.yml builds Kedro's Version for
# them: it imports Kedro only when such a class (which needs Kedro itself) is used.
_ALLOWED = {"datasets/kedro_adapter.py"}


def test_nothing_outside_pipeloop_kedro_imports_kedro() -> None:
    offenders = [path.relative_to(PACKAGE).as_posix() for path in sorted(PACKAGE.rglob("*.py"))
                 if path.relative_to(PACKAGE).parts[0] != "kedro" and _imports_kedro(path)]
    assert [path for path in offenders if path not in _ALLOWED] == []


def test_importing_pipeloop_and_its_catalog_does_not_import_kedro() -> None:
    code = ("import sys, pipeloop; from pipeloop import DataCatalog, SequentialRunner; "
            "import pipeloop.datasets.types; print('kedro' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
                            timeout=120, check=True)
    assert result.stdout.strip() == "False"


def test_the_bridge_imports_kedro() -> None:
    assert _imports_kedro(PACKAGE / "kedro" / "runners.py")


def test_without_kedro_the_bridge_says_what_to_install() -> None:
    # A fresh interpreter in which Kedro cannot be imported (None in sys.modules).
    code = "import sys; sys.modules['kedro'] = None; import pipeloop.kedro"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)},
                            timeout=120, check=False)
    assert result.returncode != 0
    assert "pip install 'pipeloop[kedro]'" in result.stderr


def test_public_names() -> None:
    pytest.importorskip("kedro", minversion="1.0")
    import kedro.runner

    import pipeloop.kedro

    assert pipeloop.kedro.__all__ == sorted(pipeloop.kedro.__all__)
    for name in pipeloop.kedro.__all__:
        runner = getattr(pipeloop.kedro, name)
        assert issubclass(runner, kedro.runner.AbstractRunner)
        assert runner.__name__ == name and hasattr(kedro.runner, name)  # Kedro's names
