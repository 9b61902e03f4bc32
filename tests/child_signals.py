"""For tests that start a process and signal it: the child's signals act as on a terminal."""

from __future__ import annotations

import signal

__all__ = ["default_signals"]


def default_signals() -> None:
    """In a child, before exec (``preexec_fn``): SIGINT, SIGTERM and SIGHUP get their default
    actions, even when the suite runs with them ignored (a background job ignores SIGINT;
    ``nohup``, SIGHUP), since pipeloop rightly keeps ignoring what it was started ignoring."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
