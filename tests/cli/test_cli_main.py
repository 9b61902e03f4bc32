"""The ``pipeloop`` group: help on every command, the version, and real processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Invoke

import pipeloop

COMMANDS = [["run"], ["new"], ["pipeline"], ["pipeline", "list"], ["pipeline", "describe"],
            ["catalog"], ["catalog", "list"], []]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "pipeloop")
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_every_command_has_help(invoke: Invoke, command: list[str], flag: str) -> None:
    result = invoke(*command, flag)
    assert result.exit_code == 0
    assert result.stdout.startswith(f"Usage: pipeloop {' '.join(command)}".rstrip())


def test_version(invoke: Invoke) -> None:
    result = invoke("--version")
    assert result.stdout == f"pipeloop, version {pipeloop.__version__}\n"


def test_unknown_commands_and_options_are_usage_errors(invoke: Invoke) -> None:
    assert invoke("runn").exit_code == 2
    result = invoke("run", "--no-such-option")
    assert result.exit_code == 2
    assert "No such option '--no-such-option'" in result.stderr


def _clean_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PIPELOOP_")}
    return {**env, **extra}


def _run(
    *args: str | Path, cwd: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(arg) for arg in args], cwd=cwd, env=_clean_env(**env),
                          capture_output=True, text=True, timeout=60, check=False)


def test_python_dash_m_runs_the_cli() -> None:
    done = _run(sys.executable, "-m", "pipeloop.cli", "--version")
    assert (done.returncode, done.stdout) == (0, f"pipeloop, version {pipeloop.__version__}\n")


def test_a_failing_run_in_a_real_process(toy: Path) -> None:
    done = _run(sys.executable, "-m", "pipeloop.cli.main", "run", "--params", "fail=true",
                cwd=toy)
    assert done.returncode == 1
    assert done.stderr.splitlines()[-2:] == [
        "Error: Node 'total' failed: ValueError: boom",
        'Resume with: pipeloop run --from-nodes total --params fail=true',
    ]
    assert "Traceback" not in done.stderr


def test_the_environment_variable_shows_tracebacks_in_a_real_process(toy: Path) -> None:
    done = _run(sys.executable, "-m", "pipeloop.cli.main", "run", "--params", "fail=yes",
                cwd=toy, PIPELOOP_VERBOSE="1")
    assert done.returncode == 1
    assert "Traceback (most recent call last):" in done.stderr
    assert done.stderr.splitlines()[-2] == "Error: Node 'total' failed: ValueError: boom"


def test_the_installed_script(tmp_path: Path) -> None:
    script = shutil.which("pipeloop", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("pipeloop is not installed as a script next to this interpreter")
    done = _run(script, "run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.startswith(f"Error: No pipeloop project found in {tmp_path.resolve()}")
