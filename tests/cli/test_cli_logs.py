"""The log lines commands print, and leaving logging as it was."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from pipeloop.cli.logs import command_logging


def test_info_of_pipeloop_and_the_project_warnings_of_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    with command_logging("myproject"):
        logging.getLogger("pipeloop.runner").info("from pipeloop")
        logging.getLogger("myproject.nodes").info("from the project")
        logging.getLogger("somelib").info("hidden")
        logging.getLogger("somelib").warning("a warning")
    lines = stderr.getvalue().splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "INFO    from pipeloop", "INFO    from the project", "WARNING a warning"]


def test_lines_go_to_the_current_stderr(monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = io.StringIO(), io.StringIO()
    with command_logging():
        monkeypatch.setattr(sys, "stderr", first)
        logging.getLogger("pipeloop").info("one")
        monkeypatch.setattr(sys, "stderr", second)
        logging.getLogger("pipeloop").info("two")
    assert "one" in first.getvalue() and "two" not in first.getvalue()
    assert "two" in second.getvalue()


def test_logging_is_restored_afterwards() -> None:
    root, ours = logging.getLogger(), logging.getLogger("pipeloop")
    handlers, levels = list(root.handlers), (root.level, ours.level)
    with command_logging("x"):
        assert len(root.handlers) == len(handlers) + 1
    assert root.handlers == handlers
    assert (root.level, ours.level) == levels
