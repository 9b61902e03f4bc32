"""``Project``: loading a project's settings, pipelines, catalog and hooks, and running it
from an async app the way ``pipeloop run`` does, with run records and resume."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import anyio
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import IRIS, TOY_FILES, write_files

from pipeloop import NodeState, Project, RunReport, RunStatus, ThreadRunner
from pipeloop.engine.run_record import (
    RecordStatus,
    RunRecord,
    read_records,
    record_path,
)
from pipeloop.errors import ConfigError, PipelineError, ProjectNotFoundError


@pytest.fixture(autouse=True)
def _isolate_imports() -> Iterator[None]:
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        if name.split(".")[0] in {"toy", "iris", "flaky", "bad", "flat", "kedroish"}:
            del sys.modules[name]


@pytest.fixture
def toy(tmp_path: Path) -> Path:
    return write_files(tmp_path / "toy", TOY_FILES)


FLAKY = {
    "pyproject.toml": """
        [tool.pipeloop]
        package = "flaky"
        hooks = ["flaky.hooks:Recorder"]
    """,
    "conf/base/catalog.yml": """
        middle:
          type: JSONDataset
          filepath: data/middle.json
        final:
          type: JSONDataset
          filepath: data/final.json
    """,
    "conf/base/parameters.yml": "start: 2\n",
    "src/flaky/__init__.py": "",
    "src/flaky/hooks.py": '''
        CALLS = []


        class Recorder:
            def after_node_run(self, node):
                CALLS.append(node.name)
    ''',
    "src/flaky/pipeline_registry.py": '''
        from pathlib import Path

        from pipeloop import Pipeline, node


        def first(start):
            return start * 10


        def second(middle):
            if Path("FAIL").exists():
                raise RuntimeError("asked to fail")
            return middle + 1


        def register_pipelines():
            p = Pipeline([node(first, "params:start", "middle", name="first"),
                          node(second, "middle", "final", name="second")])
            return {"__default__": p}
    ''',
}


# -- settings ----------------------------------------------------------------------------


def test_settings_default_to_kedros_layout(toy: Path) -> None:
    project = Project.load(toy)
    assert project.root == toy.resolve()
    assert project.package == "toy"
    assert project.source_dir == toy.resolve() / "src"
    assert project.pipelines_spec == "toy.pipeline_registry:register_pipelines"
    assert project.conf_source == toy.resolve() / "conf"
    assert sys.path[0] == str(toy.resolve() / "src")


def test_settings_can_be_given_and_code_can_sit_at_the_root(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": """
        [tool.pipeloop]
        package = "flat"
        pipelines = "flat.registry:pipelines"
        conf_source = "settings"
    """, "flat/__init__.py": ""})
    project = Project.load(tmp_path)
    assert project.source_dir == tmp_path.resolve()
    assert project.pipelines_spec == "flat.registry:pipelines"
    assert project.conf_source == tmp_path.resolve() / "settings"


def test_a_kedro_table_is_read_when_there_is_no_pipeloop_table(tmp_path: Path) -> None:
    write_files(tmp_path, {"pyproject.toml": """
        [tool.kedro]
        package_name = "kedroish"
        project_name = "Kedroish"
        kedro_init_version = "1.7.0"
        source_dir = "code"
    """, "code/kedroish/__init__.py": ""})
    project = Project.load(tmp_path)
    assert project.package == "kedroish"
    assert project.source_dir == tmp_path.resolve() / "code"


def test_load_walks_up_from_the_current_folder(toy: Path, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    write_files(toy / "sub", {"pyproject.toml": "[project]\nname = 'other'\n"})
    monkeypatch.chdir(toy / "sub")
    assert Project.load().root == toy.resolve()


def test_a_folder_that_is_not_a_project_is_a_library_error(tmp_path: Path) -> None:
    with pytest.raises(ProjectNotFoundError, match=r"No pipeloop project at .*: it needs"):
        Project.load(tmp_path)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[tool.pipeloop]\n", "[tool.pipeloop] package must be a non-empty string, not None."),
        ("[tool.pipeloop]\npackage = 'gone'\n", "Cannot find the code of package 'gone'"),
        ("[tool.pipeloop\n", "Cannot read"),
        ("[tool.pipeloop]\npackage = 'flat'\nhooks = 'x'\n", "hooks must be a list"),
    ],
)
def test_invalid_settings_are_config_errors(tmp_path: Path, table: str, message: str) -> None:
    write_files(tmp_path, {"flat/__init__.py": ""})
    (tmp_path / "pyproject.toml").write_text(table)
    with pytest.raises(ConfigError) as caught:
        Project.load(tmp_path)
    assert message in str(caught.value)


# -- pipelines, catalog, hooks -----------------------------------------------------------


def test_pipelines_come_from_the_registry_and_unknown_names_are_pipeline_errors(toy: Path
                                                                                ) -> None:
    project = Project.load(toy)
    assert sorted(project.pipelines) == ["__default__", "all", "left", "orphan", "right"]
    with pytest.raises(PipelineError, match="Did you mean 'left'"):
        project.select("lefty")


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ("import nowhere\n", "ModuleNotFoundError: No module named 'nowhere'"),
        ("x = 1\n", "Module 'bad.pipeline_registry' has no function 'register_pipelines'"),
        ("def register_pipelines():\n    return {'x': 1}\n", "must return a dict"),
        ("def register_pipelines(:\n", "SyntaxError"),
    ],
)
def test_a_broken_registry_is_a_config_error(tmp_path: Path, registry: str, message: str
                                             ) -> None:
    write_files(tmp_path, {"pyproject.toml": "[tool.pipeloop]\npackage = 'bad'\n",
                           "bad/__init__.py": "", "bad/pipeline_registry.py": registry})
    with pytest.raises(ConfigError, match=message):
        Project.load(tmp_path).pipelines  # noqa: B018


def test_the_catalog_holds_datasets_and_parameters_with_overrides_and_env(toy: Path) -> None:
    catalog = Project.load(toy).catalog(params={"scale.factor": 5})
    assert type(catalog["a"]).__name__ == "JSONDataset"
    assert catalog["params:scale.factor"]._data == 5  # type: ignore[attr-defined]
    tested = Project.load(toy, env="test").catalog()
    assert tested["params:start"]._data == 10  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match=r"folder '.*nowhere' does not exist"):
        Project.load(toy, conf_source=toy / "nowhere")


def test_hooks_come_from_the_settings_and_from_kedros_settings_py(tmp_path: Path) -> None:
    files = dict(FLAKY)
    files["src/flaky/settings.py"] = '''
        from flaky.hooks import Recorder

        HOOKS = (Recorder(),)
    '''
    project = Project.load(write_files(tmp_path / "flaky", files))
    assert [type(hook).__name__ for hook in project.hooks()] == ["Recorder", "Recorder"]


# -- running -----------------------------------------------------------------------------


def test_an_app_runs_iris_with_the_outputs_and_record_of_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pipeloop.cli.main import cli

    by_cli = tmp_path / "cli"
    by_app = tmp_path / "app"
    for target in (by_cli, by_app):
        shutil.copytree(IRIS, target, ignore=shutil.ignore_patterns(
            "__pycache__", "05_model_input", "06_models", "08_reporting"))
    result = CliRunner().invoke(cli, ["run", "--project", str(by_cli)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    for name in [m for m in sys.modules if m.split(".")[0] == "iris"]:
        del sys.modules[name]

    report = anyio.run(partial(Project.load(by_app).run, runner=ThreadRunner()))
    assert report.status is RunStatus.COMPLETED
    assert set(report.node_states.values()) == {NodeState.COMPLETED}
    produced = sorted(p.relative_to(by_cli).as_posix() for p in (by_cli / "data").rglob("*")
                      if p.is_file() and p.suffix in {".json", ".csv"})
    assert produced
    for relative in produced:
        assert (by_app / relative).read_bytes() == (by_cli / relative).read_bytes(), relative
    cli_record = json.loads(record_path(by_cli).read_text())
    app_record = json.loads(record_path(by_app).read_text())
    assert cli_record["status"] == app_record["status"] == "completed"
    assert cli_record["request"]["pipelines"] == app_record["request"]["pipelines"]


async def test_a_failed_run_returns_its_report_and_resume_finishes_it(tmp_path: Path) -> None:
    root = write_files(tmp_path / "flaky", FLAKY)
    (root / "FAIL").touch()
    project = Project.load(root)
    report = await project.run(params={"start": 3})
    assert report.status is RunStatus.FAILED
    assert report.failed_nodes == ["second"]
    assert isinstance(report.errors["second"], RuntimeError)
    assert report.resume_nodes == ["second"]  # middle is persisted
    [record] = read_records(root)
    assert record.status is RecordStatus.FAILED and record.resume_nodes == ["second"]

    (root / "FAIL").unlink()
    resumed = await project.resume()
    assert resumed.status is RunStatus.COMPLETED
    assert list(resumed.node_states) == ["second"]  # only what the failed run left undone
    assert json.loads((root / "data" / "final.json").read_text()) == 31  # recorded params
    sys.modules.pop("flaky.hooks", None)
    with pytest.raises(ConfigError, match="Nothing to resume"):
        await project.resume()


async def test_a_concurrent_success_does_not_erase_the_failure_to_resume(tmp_path: Path
                                                                         ) -> None:
    root = write_files(tmp_path / "flaky", FLAKY)
    (root / "FAIL").touch()
    project = Project.load(root)
    failed = await project.run()
    [record] = read_records(root)
    # Another run that started before the failure ended, and completed after it.
    overlapping = RunRecord(run_id="overlapping", started_at=record.started_at)
    overlapping.ended(RecordStatus.COMPLETED)
    overlapping.write(root)
    assert project.last_unfinished_run().run_id == record.run_id
    assert failed.status is RunStatus.FAILED


async def test_a_report_passed_in_is_filled_and_bad_requests_raise_before_any_node(
    tmp_path: Path,
) -> None:
    project = Project.load(write_files(tmp_path / "flaky", FLAKY))
    report = RunReport()
    assert await project.run(report=report) is report
    assert report.completed_nodes == ["first", "second"]
    with pytest.raises(PipelineError):
        await project.run(node_names=["nowhere"])


async def test_kedro_settings_resolvers_and_hook_impl_hooks_are_used(tmp_path: Path) -> None:
    files = dict(FLAKY)
    files["conf/base/parameters.yml"] = "start: ${times:2,3}\n"
    files["src/flaky/settings.py"] = '''
        from pipeloop import hook_impl


        class Counting:
            seen = []

            @hook_impl
            def before_node_run(self, node):
                self.seen.append(node.name)


        HOOKS = (Counting(),)
        CONFIG_LOADER_ARGS = {"custom_resolvers": {"times": lambda a, b: int(a) * int(b)}}
    '''
    project = Project.load(write_files(tmp_path / "flaky", files))
    report = await project.run()
    assert report.status is RunStatus.COMPLETED
    assert json.loads((project.root / "data" / "middle.json").read_text()) == 60
    settings = sys.modules["flaky.settings"]
    assert settings.Counting.seen == ["first", "second"]


LOGGING_YML = """
version: 1
handlers:
  to_file:
    class: logging.FileHandler
    filename: logs/info.log
    level: INFO
loggers:
  pipeloop:
    handlers: [to_file]
    level: INFO
"""


async def test_conf_logging_yml_is_applied_with_paths_from_the_project_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEDRO_LOGGING_CONFIG", raising=False)
    files = dict(FLAKY)
    files["conf/logging.yml"] = LOGGING_YML
    project = Project.load(write_files(tmp_path / "flaky", files))
    (project.root / "logs").mkdir()
    assert project.logging_file() == project.conf_source / "logging.yml"
    project.configure_logging()
    try:
        await project.run()
    finally:
        for handler in logging.getLogger("pipeloop").handlers:
            handler.close()
    text = (project.root / "logs" / "info.log").read_text()
    assert "Running node: first" in text
    assert not logging.getLogger("pipeloop.runner").disabled


def test_kedro_logging_config_names_the_file_and_bad_files_are_config_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = Project.load(write_files(tmp_path / "flaky", FLAKY))
    monkeypatch.delenv("KEDRO_LOGGING_CONFIG", raising=False)
    assert project.logging_file() is None
    project.configure_logging()  # nothing to apply
    bad = tmp_path / "bad.yml"
    bad.write_text("version: 1\nhandlers:\n  h:\n    class: nowhere.Handler\n")
    monkeypatch.setenv("KEDRO_LOGGING_CONFIG", str(bad))
    assert project.logging_file() == bad
    with pytest.raises(ConfigError, match=r"Invalid logging configuration in .*bad\.yml"):
        project.configure_logging()
    monkeypatch.setenv("KEDRO_LOGGING_CONFIG", str(tmp_path / "missing.yml"))
    with pytest.raises(ConfigError, match="KEDRO_LOGGING_CONFIG names"):
        project.logging_file()
