"""Choosing and configuring the runner: names, dotted paths, options that map to arguments."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import Invoke

from pipeloop import DryRunner, ParallelRunner, SequentialRunner, ThreadRunner
from pipeloop.cli.errors import UsageProblem
from pipeloop.cli.runners import make_runner, runner_class


@pytest.mark.parametrize(
    ("name", "cls"),
    [("SequentialRunner", SequentialRunner), ("ThreadRunner", ThreadRunner),
     ("ParallelRunner", ParallelRunner), ("DryRunner", DryRunner),
     ("pipeloop:ThreadRunner", ThreadRunner), ("pipeloop.ThreadRunner", ThreadRunner)],
)
def test_runner_names_and_paths(name: str, cls: type) -> None:
    assert runner_class(name) is cls


def test_dask_runner_is_available_with_the_extra() -> None:
    pytest.importorskip("distributed")
    assert runner_class("DaskRunner").__name__ == "DaskRunner"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Sequental", "Unknown runner 'Sequental'. Did you mean SequentialRunner?"),
        ("thread", "Unknown runner 'thread'. Did you mean ThreadRunner?"),
        ("nowhere.mod:Runner", "Cannot import runner 'nowhere.mod:Runner': "
                               "ModuleNotFoundError: No module named 'nowhere'"),
        ("pipeloop:Nope", "module 'pipeloop' has no attribute 'Nope'"),
        ("pipeloop.errors:PipelineError", "is not a runner: it must be a subclass of"),
        ("pipeloop:", "Invalid runner path 'pipeloop:'"),
    ],
)
def test_bad_runner_names_are_usage_errors(name: str, message: str) -> None:
    with pytest.raises(UsageProblem) as caught:
        runner_class(name)
    assert message in caught.value.message


def test_options_become_constructor_arguments() -> None:
    runner = make_runner("ThreadRunner", arguments={
        "max_workers": ("--max-workers", 3), "is_async": ("--no-async", False)})
    assert isinstance(runner, ThreadRunner)
    assert (runner.max_workers, runner.is_async) == (3, False)
    assert isinstance(make_runner(None, parallel=True), ParallelRunner)
    assert isinstance(make_runner(None), SequentialRunner)


def test_parallel_and_runner_cannot_be_used_together() -> None:
    with pytest.raises(UsageProblem, match="--parallel and --runner cannot be used together"):
        make_runner("ThreadRunner", parallel=True)


def test_an_argument_the_runner_does_not_take_names_its_option() -> None:
    with pytest.raises(UsageProblem) as caught:
        make_runner("SequentialRunner", arguments={"max_workers": ("--max-workers", 2)})
    assert caught.value.message == "SequentialRunner does not take --max-workers."
    assert caught.value.hint == "It takes: extra_dataset_patterns, is_async."


def test_a_value_the_runner_refuses_is_a_usage_error() -> None:
    with pytest.raises(UsageProblem, match=re.escape(
            "Cannot create ThreadRunner: ThreadRunner: max_workers must be >= 1, not 0.")):
        make_runner("ThreadRunner", arguments={"max_workers": ("--max-workers", 0)})


@pytest.mark.parametrize(
    "options",
    [["--runner", "ThreadRunner", "--max-workers", "2"], ["-r", "ParallelRunner",
     "--max-workers", "2", "--no-async"], ["--parallel", "--async"],
     ["-r", "SequentialRunner", "--runner-params", "is_async=false"]],
)
def test_runs_with_runner_options(toy: Path, invoke: Invoke, options: list[str]) -> None:
    result = invoke("run", "--project", toy, "-p", "left", *options)
    assert result.exit_code == 0, result.output
    assert "Completed 2 out of 2 tasks" in result.stderr


def test_a_runner_class_from_the_project_with_runner_params(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "-r", "toy.runners:LabelRunner",
                    "--runner-params", "label=custom")
    assert result.exit_code == 0, result.output
    assert "LabelRunner custom runs 6 nodes" in result.stderr


def test_dry_runner_lists_and_runs_nothing(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "-r", "DryRunner")
    assert result.exit_code == 0, result.output
    assert "Actual run would execute 6 nodes" in result.stderr
    assert not (toy / "data").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--parallel", "-r", "ThreadRunner"],
         "Error: --parallel and --runner cannot be used together.\n"
         "Use --runner ParallelRunner, or --parallel alone.\n"),
        (["-r", "Sequental"], "Error: Unknown runner 'Sequental'. Did you mean SequentialRunner?"),
        (["-r", "toy.runners:NotARunner"], "Error: 'toy.runners:NotARunner' is not a runner"),
        (["--address", "tcp://127.0.0.1:1"], "Error: SequentialRunner does not take --address."),
        (["-r", "ThreadRunner", "--runner-params", "speed=3"],
         "Error: ThreadRunner does not take --runner-params speed."),
        (["--max-workers", "2", "--runner-params", "max_workers=3", "--parallel"],
         "Error: 'max_workers' is given twice: by --max-workers and by --runner-params."),
        (["-r", "ThreadRunner", "--max-workers", "0"], "max_workers must be >= 1, not 0."),
    ],
)
def test_runner_option_errors(toy: Path, invoke: Invoke, options: list[str], message: str) -> None:
    result = invoke("run", "--project", toy, *options)
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2
