"""Finding a project, reading its settings, making its code importable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from cli_helpers import write_files

from pipeloop.cli.errors import CliError, UsageProblem
from pipeloop.cli.project import find_project, inside, read_project


def test_settings_default_to_kedros_layout(toy: Path) -> None:
    project = read_project(toy)
    assert project.root == toy.resolve()
    assert project.package == "toy"
    assert project.source_dir == toy.resolve() / "src"
    assert project.pipelines == "toy.pipeline_registry:register_pipelines"
    assert project.conf_source == toy.resolve() / "conf"


def test_settings_can_be_given_and_code_can_sit_at_the_root(tmp_path: Path) -> None:
    write_files(tmp_path, {
        "pyproject.toml": """
            [tool.pipeloop]
            package = "flat"
            pipelines = "flat.registry:pipelines"
            conf_source = "settings"
        """,
        "flat/__init__.py": "",
    })
    project = read_project(tmp_path)
    assert project.source_dir == tmp_path.resolve()
    assert project.pipelines == "flat.registry:pipelines"
    assert project.conf_source == tmp_path.resolve() / "settings"


def test_find_project_walks_up_from_the_current_folder(
    toy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(toy / "conf" / "base")
    assert find_project().root == toy.resolve()
    assert find_project(toy).root == toy.resolve()


def test_find_project_skips_pyprojects_without_a_pipeloop_table(
    toy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_files(toy / "sub", {"pyproject.toml": "[project]\nname = 'other'\n"})
    monkeypatch.chdir(toy / "sub")
    assert find_project().root == toy.resolve()


def test_a_folder_that_is_not_a_project(tmp_path: Path) -> None:
    with pytest.raises(UsageProblem) as caught:
        find_project(tmp_path)
    assert caught.value.message == (f"No pipeloop project at {tmp_path.resolve()}: it needs a "
                                     "pyproject.toml with a [tool.pipeloop] table.")


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[tool.pipeloop]\n", "[tool.pipeloop] package must be a non-empty string, not None."),
        ("[tool.pipeloop]\npackage = 3\n", "package must be a non-empty string, not 3."),
        ("[tool.pipeloop]\npackage = 'gone'\n", "Cannot find the code of package 'gone'"),
        ("[tool.pipeloop\n", "Cannot read"),
    ],
)
def test_invalid_settings_name_the_problem(tmp_path: Path, table: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(table)
    with pytest.raises(CliError) as caught:
        read_project(tmp_path)
    assert message in caught.value.message
    assert caught.value.exit_code == 1


def test_activate_puts_the_source_first_and_forgets_a_stale_package(
    toy: Path, tmp_path: Path
) -> None:
    other = write_files(tmp_path / "other", {"src/toy/__init__.py": "WHERE = 'other'\n"})
    sys.path.insert(0, str(other / "src"))
    import toy as stale  # type: ignore[import-not-found]

    assert stale.WHERE == "other"
    read_project(toy).activate()
    assert sys.path[0] == str(toy.resolve() / "src")
    import toy as fresh  # type: ignore[import-not-found]

    assert not hasattr(fresh, "WHERE")


def test_inside_works_from_the_root_and_comes_back(toy: Path) -> None:
    before = Path.cwd()
    with inside(read_project(toy)):
        assert Path.cwd() == toy.resolve()
    assert Path.cwd() == before
    with pytest.raises(RuntimeError), inside(read_project(toy)):
        raise RuntimeError
    assert os.getcwd() == str(before)
