"""For tests that start processes, signal them and check that they are gone."""

from __future__ import annotations

import signal
import time

__all__ = ["default_signals", "gone", "wait_gone"]

#: Seconds a test waits at most for a process to end: a bug fails instead of hanging.
PATIENCE = 30.0


def default_signals() -> None:
    """In a child, before exec (``preexec_fn``): SIGINT, SIGTERM and SIGHUP get their default
    actions, even when the suite runs with them ignored (a background job ignores SIGINT;
    ``nohup``, SIGHUP), since pipeloop rightly keeps ignoring what it was started ignoring."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def gone(pid: int) -> bool:
    """The process ended (a zombie waiting for its reaper counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            stat = file.read()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] in "ZX"


def wait_gone(*pids: int, patience: float = PATIENCE) -> bool:
    """Whether every process of ``pids`` ended within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while not all(map(gone, pids)):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
