"""Loading a project's pipelines and choosing the ones a command names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_helpers import write_files

from pipeloop import Pipeline, node
from pipeloop.cli.errors import CliError, UsageProblem
from pipeloop.cli.project import read_project
from pipeloop.cli.registry import load_pipelines, select_pipelines


def _identity(x: int) -> int:
    return x


ONE = Pipeline([node(_identity, "a", "b", name="one")])
TWO = Pipeline([node(_identity, "b", "c", name="two")])


def test_load_pipelines_calls_the_registry(toy: Path) -> None:
    project = read_project(toy)
    project.activate()
    pipelines = load_pipelines(project)
    assert sorted(pipelines) == ["__default__", "all", "left", "orphan", "right"]


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ("import nowhere\n", "Cannot load the pipelines from 'bad.pipeline_registry:"
                             "register_pipelines': ModuleNotFoundError: No module named "
                             "'nowhere'"),
        ("x = 1\n", "Module 'bad.pipeline_registry' has no function 'register_pipelines'"),
        ("register_pipelines = 3\n", "is not a function"),
        ("def register_pipelines():\n    raise KeyError('k')\n",
         "Registering the pipelines failed in 'bad.pipeline_registry:register_pipelines': "
         "KeyError: 'k'"),
        ("def register_pipelines():\n    return {'x': 1}\n",
         "must return a dict of names to Pipeline objects, not dict"),
        ("def register_pipelines(:\n", "SyntaxError"),
    ],
)
def test_a_broken_registry_is_one_clear_error(tmp_path: Path, registry: str, message: str) -> None:
    write_files(tmp_path, {
        "pyproject.toml": "[tool.pipeloop]\npackage = 'bad'\n",
        "bad/__init__.py": "",
        "bad/pipeline_registry.py": registry,
    })
    project = read_project(tmp_path)
    project.activate()
    with pytest.raises(CliError) as caught:
        load_pipelines(project)
    assert message in caught.value.message


def test_select_pipelines_defaults_to_default_and_sums_several() -> None:
    pipelines = {"__default__": ONE, "one": ONE, "two": TWO}
    assert select_pipelines(pipelines, []) is ONE
    assert select_pipelines(pipelines, ["one", "two"]) == ONE + TWO


def test_an_unknown_pipeline_lists_close_matches_and_every_name() -> None:
    with pytest.raises(UsageProblem) as caught:
        select_pipelines({"one": ONE, "two": TWO}, ["on", "three"])
    assert caught.value.message == ("Unknown pipeline 'on', 'three'. Did you mean 'one'? "
                                    "Registered pipelines: one, two.")


def test_no_default_pipeline_says_to_name_one() -> None:
    with pytest.raises(UsageProblem, match=re.escape(
            "registers no '__default__' pipeline; name one with --pipeline: one, two.")):
        select_pipelines({"one": ONE, "two": TWO}, [])
