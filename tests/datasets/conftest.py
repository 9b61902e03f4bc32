"""Fixtures of the dataset tests: a process killed mid-save."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

_KILLED_WRITER = """
import pathlib, sys, time
from pipeloop.datasets.atomic import begin_write
staging = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else None
write = begin_write(sys.argv[1], exclusive=staging is not None, staging=staging)
with open(write.path, "wb") as file:
    file.write(b"half a docu")
print(write.path, flush=True)
time.sleep(600)
"""


def _killed_writer(path: Path, staging: Path | None = None) -> Path:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    args = [sys.executable, "-c", _KILLED_WRITER, str(path)]
    if staging is not None:
        args.append(str(staging))
    process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        temporary = Path(process.stdout.readline().decode().strip())
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        if process.stdout is not None:
            process.stdout.close()
    assert temporary.is_file(), "the writer died before it began writing"
    return temporary


@pytest.fixture
def killed_writer() -> Callable[..., Path]:
    """``killed_writer(path, staging=None)``: run a process that starts an atomic write of
    ``path`` (exclusive, staged in ``staging``, when given), kill it with SIGKILL mid-write,
    and return the temporary file it left behind."""
    return _killed_writer
