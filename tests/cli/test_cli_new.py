"""``pipeloop new``: a scaffolded project runs at once, and its own test passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Invoke, read_json

from pipeloop.cli.errors import UsageProblem
from pipeloop.cli.new import package_name


def test_new_then_run(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("new", "demo", "--path", tmp_path)
    assert result.exit_code == 0, result.output
    project = tmp_path / "demo"
    assert result.stdout.splitlines() == [
        f"Created project 'demo' (package 'demo') in {project}",
        f"Run it with: cd {project} && pipeloop run",
    ]
    expected = {"pyproject.toml", "README.md", ".gitignore", "conf/base/catalog.yml",
                "conf/base/parameters.yml", "conf/local/.gitkeep", "data/.gitkeep",
                "src/demo/__init__.py", "src/demo/nodes.py", "src/demo/pipeline.py",
                "src/demo/pipeline_registry.py", "tests/test_pipeline.py"}
    written = {path.relative_to(project).as_posix() for path in project.rglob("*")
               if path.is_file()}
    assert written == expected
    assert "{{" not in (project / "src/demo/pipeline.py").read_text()

    run = invoke("run", "--project", project)
    assert run.exit_code == 0, run.output
    assert "Hello from demo: 10 numbers, mean 5.50" in run.stderr
    assert read_json(project / "data" / "summary.json") == {"count": 10, "total": 55,
                                                            "mean": 5.5}
    assert invoke("run", "--project", project, "-p", "hello").exit_code == 0


def test_the_scaffolds_own_test_passes(tmp_path: Path, invoke: Invoke) -> None:
    invoke("new", "hello-world", "--path", tmp_path)
    project = tmp_path / "hello-world"
    assert (project / "src" / "hello_world" / "nodes.py").is_file()
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout


def test_a_package_name_can_be_chosen(tmp_path: Path, invoke: Invoke) -> None:
    result = invoke("new", "Demo.Project", "--path", tmp_path, "--package", "mypkg")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "Demo.Project" / "src" / "mypkg" / "pipeline.py").is_file()


def test_package_names_come_from_project_names() -> None:
    assert package_name("My-Cool.Project") == "my_cool_project"
    with pytest.raises(UsageProblem, match="Cannot make a Python package name from '123'"):
        package_name("123")
    with pytest.raises(UsageProblem):
        package_name("class")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["bad name"], "Error: Invalid project name 'bad name'"),
        (["9lives"], "Error: Cannot make a Python package name from '9lives'"),
        (["ok", "--package", "not-valid"],
         "Error: Invalid value for '--package': 'not-valid' is not a Python identifier."),
    ],
)
def test_bad_names_are_usage_errors(
    tmp_path: Path, invoke: Invoke, args: list[str], message: str
) -> None:
    result = invoke("new", *args, "--path", tmp_path)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(tmp_path: Path, invoke: Invoke) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "keep.txt").write_text("mine")
    result = invoke("new", "demo", "--path", tmp_path)
    assert result.exit_code == 2
    assert "it already exists and is not an empty folder" in result.stderr
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["keep.txt"]
