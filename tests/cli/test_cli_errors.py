"""The CLI's error reporting: short messages, exit statuses, tracebacks on demand."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from pipeloop.cli.errors import (
    CliError,
    UsageProblem,
    describe_exception,
    reports_errors,
    verbose_option,
)
from pipeloop.errors import DatasetError, PipelineError, ProjectNotFoundError


def test_describe_exception_is_one_line() -> None:
    assert describe_exception(ValueError("boom")) == "ValueError: boom"
    assert describe_exception(KeyError("k")) == "KeyError: 'k'"
    assert describe_exception(RuntimeError()) == "RuntimeError"
    assert describe_exception(DatasetError("Failed.\n  why\n")) == "Failed. why"
    group = ExceptionGroup("many", [ValueError("a"), TypeError("b")])
    assert describe_exception(group) == "ValueError: a; TypeError: b"


def test_cli_errors_have_a_message_a_hint_and_an_exit_status() -> None:
    assert CliError("broken").format_message() == "broken"
    assert CliError("broken", hint="fix it").format_message() == "broken\nfix it"
    assert CliError("x").exit_code == 1
    assert UsageProblem("x").exit_code == 2


@click.command()
@click.argument("kind")
@verbose_option
@reports_errors
def _fails(kind: str) -> None:
    if kind == "usage":
        raise UsageProblem("bad usage", hint="do this") from ValueError("inner")
    if kind == "pipeloop":
        raise DatasetError("a dataset problem")
    if kind == "pipeline":
        raise PipelineError("a pipeline problem")
    if kind == "project":
        raise ProjectNotFoundError("no project here")
    if kind == "abort":
        raise click.Abort()
    raise ValueError("unexpected")


@pytest.mark.parametrize(
    ("kind", "status", "output"),
    [
        ("usage", 2, "Error: bad usage\ndo this\n"),
        ("pipeloop", 1, "Error: a dataset problem\n"),
        ("pipeline", 2, "Error: a pipeline problem\n"),  # unknown names, empty filters
        ("project", 2, "Error: no project here\n"),
        ("other", 1, "Error: ValueError: unexpected\n"),
        ("abort", 1, "Aborted!\n"),
    ],
)
def test_reports_errors_prints_short_messages(kind: str, status: int, output: str) -> None:
    result = CliRunner().invoke(_fails, [kind])
    assert result.exit_code == status
    assert result.stderr == output


def test_verbose_prints_the_traceback_first() -> None:
    result = CliRunner().invoke(_fails, ["other", "--verbose"])
    assert result.exit_code == 1
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert result.stderr.endswith("ValueError: unexpected\nError: ValueError: unexpected\n")


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_the_environment_variable_turns_verbose_on(value: str) -> None:
    result = CliRunner().invoke(_fails, ["other"], env={"PIPELOOP_VERBOSE": value})
    assert result.stderr.startswith("Traceback (most recent call last):")


def test_verbose_prints_the_cause_of_a_reported_error() -> None:
    result = CliRunner().invoke(_fails, ["usage", "-v"])
    assert result.stderr == "ValueError: inner\nError: bad usage\ndo this\n"


def test_verbose_off_shows_no_traceback() -> None:
    result = CliRunner().invoke(_fails, ["other"], env={"PIPELOOP_VERBOSE": "0"})
    assert "Traceback" not in result.stderr
