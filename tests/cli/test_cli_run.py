"""``pipeloop run``: every option, through click's CliRunner on the toy project."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cli_helpers import SQUARE, SQUARE_LOGGED, Invoke, read_json

SUCCESS = "Pipeline execution completed successfully."


def ran(stderr: str) -> list[str]:
    """The node names a run's log says it ran, in order."""
    prefix = "Running node: "
    names = []
    for line in stderr.splitlines():
        if prefix in line:
            text = line.split(prefix, 1)[1]
            names.append(SQUARE if text == SQUARE_LOGGED else text.split(": ", 1)[0])
    return names


ALL_NODES = ["make", "double", "extra.inc", SQUARE, "total", "report"]


def test_a_run_logs_like_kedro_and_writes_the_catalog_outputs(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy)
    assert result.exit_code == 0, result.output
    assert "Loading data from `params:start` (MemoryDataset)..." in result.stderr
    assert "Running node: make: make([params:start]) -> [a]" in result.stderr
    assert "Completed 6 out of 6 tasks" in result.stderr
    assert result.stderr.rstrip().endswith(SUCCESS)
    assert "toy report: d=21" in result.stderr  # the project's own INFO logs show too
    assert sorted(ran(result.stderr)) == sorted(ALL_NODES)
    assert read_json(toy / "data" / "d.json") == 21
    assert result.stdout == ""


def test_the_project_is_found_from_the_current_folder_and_its_parents(
    toy: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(toy / "src" / "toy")
    result = invoke("run")
    assert result.exit_code == 0, result.output
    assert read_json(toy / "data" / "d.json") == 21
    assert Path.cwd() == toy / "src" / "toy"  # the run worked from the root, then came back


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--pipeline", "left"], ["make", "double"]),
        (["-p", "right"], ["make", "extra.inc"]),
        (["--pipelines", "left,right"], ["make", "double", "extra.inc"]),
        (["-p", "left", "--pipelines", "right"], ["make", "double", "extra.inc"]),
    ],
)
def test_pipelines_are_chosen_by_name_and_summed(
    toy: Path, invoke: Invoke, options: list[str], expected: list[str]
) -> None:
    result = invoke("run", "--project", toy, *options)
    assert result.exit_code == 0, result.output
    assert sorted(ran(result.stderr)) == sorted(expected)


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--from-nodes", "total"], ["total", "report"]),
        (["--to-nodes", "double"], ["make", "double"]),
        (["--from-inputs", "e"], ["report"]),
        (["--to-outputs", "c"], ["make", "extra.inc"]),
        (["--nodes", f"make,{SQUARE}"], ["make", SQUARE]),
        (["-n", "make", "-n", "double"], ["make", "double"]),
        (["--tags", "math"], ["double", "total"]),
        (["-t", "first,final"], ["make", "total"]),
        (["--namespaces", "extra"], ["extra.inc"]),
        (["--from-nodes", "double", "--to-nodes", "total"], ["double", "total"]),
    ],
)
def test_filters_select_nodes(
    toy: Path, invoke: Invoke, options: list[str], expected: list[str]
) -> None:
    invoke("run", "--project", toy)  # persist every dataset first
    result = invoke("run", "--project", toy, *options)
    assert result.exit_code == 0, result.output
    assert sorted(ran(result.stderr)) == sorted(expected)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--nodes", "mkae"], "Pipeline does not contain nodes named: mkae. Did you mean: make?"),
        (["--tags", "nope"], "Pipeline contains no nodes after applying all provided filters"),
        (["--tags", "first", "--from-nodes", "total"], "contains no nodes after applying"),
        (["--from-inputs", "zz"], "No node of the pipeline reads datasets: zz."),
        (["--namespaces", "nope"], "Pipeline has no nodes in namespace: nope."),
    ],
)
def test_filters_that_name_nothing_or_leave_no_nodes_are_usage_errors(
    toy: Path, invoke: Invoke, options: list[str], message: str
) -> None:
    result = invoke("run", "--project", toy, *options)
    assert result.exit_code == 2
    assert message in result.stderr
    assert result.stderr.startswith("Error: ")
    assert "Traceback" not in result.stderr


def test_params_are_typed_and_dotted_keys_set_nested_values(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--params", "start=2,scale.factor=0.5")
    assert result.exit_code == 0, result.output
    assert read_json(toy / "data" / "a.json") == [2, 3, 4]
    # double: [1.0, 1.5, 2.0]; inc: [3, 4, 5] -> 4.5 + 12
    assert read_json(toy / "data" / "d.json") == 16.5


def test_params_bool_values_reach_the_nodes(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--params", "fail=true")
    assert result.exit_code == 1
    assert "Node 'total' failed: ValueError: boom" in result.stderr


@pytest.mark.parametrize("value", ["start", "=3", "start=1,oops", "start=[1,"])
def test_bad_params_syntax_is_a_usage_error(toy: Path, invoke: Invoke, value: str) -> None:
    result = invoke("run", "--project", toy, "--params", value)
    assert result.exit_code == 2
    assert "Invalid value for '--params'" in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2


def test_env_overlays_the_base_configuration(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--env", "test", "-p", "left")
    assert result.exit_code == 0, result.output
    assert read_json(toy / "data" / "a.json") == [10, 11, 12]


def test_an_unknown_env_fails_with_the_loaders_message(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "-e", "prod")
    assert result.exit_code == 1
    assert "environment 'prod' not found" in result.stderr


def test_conf_source_replaces_the_project_configuration(
    toy: Path, invoke: Invoke, tmp_path: Path
) -> None:
    other = tmp_path / "other-conf"
    (other / "base").mkdir(parents=True)
    (other / "base" / "parameters.yml").write_text("start: 5\nscale: {factor: 1}\nfail: false\n")
    (other / "base" / "catalog.yml").write_text(
        "a:\n  type: JSONDataset\n  filepath: data/a5.json\n")
    result = invoke("run", "--project", toy, "--conf-source", other, "-p", "left")
    assert result.exit_code == 0, result.output
    assert read_json(toy / "data" / "a5.json") == [5, 6, 7]


def test_a_missing_conf_source_is_a_usage_error(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--conf-source", toy / "nowhere")
    assert result.exit_code == 2
    assert "Invalid value for '--conf-source'" in result.stderr


def _versions(toy: Path) -> list[str]:
    return sorted(path.name for path in (toy / "data" / "b.json").iterdir())


def test_load_versions_pins_the_version_a_run_reads(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy).exit_code == 0
    first = _versions(toy)[0]
    assert invoke("run", "--project", toy, "--params", "scale.factor=3").exit_code == 0
    assert read_json(toy / "data" / "d.json") == 18 + 9
    result = invoke("run", "--project", toy, "--from-nodes", "total",
                    "--load-versions", f"b:{first}")
    assert result.exit_code == 0, result.output
    assert read_json(toy / "data" / "d.json") == 12 + 9


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("b", "'b' is not dataset:version"),
        ("b:", "'b:' is not dataset:version"),
        ("a:2024-01-01T00.00.00.000Z", "whose catalog entry is not versioned"),
    ],
)
def test_bad_load_versions_are_usage_errors(
    toy: Path, invoke: Invoke, value: str, message: str
) -> None:
    result = invoke("run", "--project", toy, "--load-versions", value)
    assert result.exit_code == 2
    assert "Invalid value for '--load-versions'" in result.stderr
    assert message in result.stderr


def test_only_missing_outputs_skips_what_exists(toy: Path, invoke: Invoke) -> None:
    assert invoke("run", "--project", toy, "-p", "left").exit_code == 0
    result = invoke("run", "--project", toy, "--only-missing-outputs")
    assert result.exit_code == 0, result.output
    assert "Skipping 3 nodes with existing outputs: double, make, report" in result.stderr
    assert "Running 3 out of 6 nodes" in result.stderr
    # Kedro 1.x's rules: report's output is returned, never persisted, so never "missing"
    assert sorted(ran(result.stderr)) == sorted(["extra.inc", SQUARE, "total"])
    again = invoke("run", "--project", toy, "--only-missing-outputs")
    assert "Skipping all 6 nodes (all persistent outputs exist)" in again.stderr
    assert ran(again.stderr) == []
    # A run in which no node ran says so, not that it "completed successfully".
    assert "No node ran: there was nothing to run." in again.stderr
    assert SUCCESS not in again.stderr


def test_keep_going_runs_what_does_not_depend_on_the_failure(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--params", "fail=true", "--keep-going")
    assert result.exit_code == 1
    assert SQUARE in ran(result.stderr)
    assert "1 node(s) failed: 'total' (ValueError: boom)" in result.stderr
    assert 'Resume with: pipeloop run --from-nodes total' in result.stderr


def test_project_option_takes_a_path_relative_to_the_current_folder(
    toy: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(toy.parent)
    result = invoke("run", "--project", "toy", "-p", "left", "--trace", "out/trace.json")
    assert result.exit_code == 0, result.output
    assert (toy.parent / "out" / "trace.json").is_file()  # relative to where we were


def test_no_project_is_a_usage_error(
    tmp_path: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke("run")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: No pipeloop project found in")
    assert len(result.stderr.strip().splitlines()) == 2


def test_missing_free_inputs_fail_before_any_node(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "-p", "orphan")
    assert result.exit_code == 1
    assert "Pipeline input(s) ['nowhere'] not found in the DataCatalog" in result.stderr
    assert "Resume" not in result.stderr


def test_unknown_pipeline_lists_close_matches(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "-p", "lefft")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "Error: Unknown pipeline 'lefft'. Did you mean 'left'? Registered pipelines: "
        "__default__, all, left, orphan, right."
    )


def test_the_projects_conf_logging_yml_is_applied(
    toy: Path, invoke: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KEDRO_LOGGING_CONFIG", raising=False)
    (toy / "conf" / "logging.yml").write_text(
        "version: 1\n"
        "handlers:\n"
        "  to_file: {class: logging.FileHandler, filename: run.log}\n"
        "loggers:\n"
        "  pipeloop.runner: {handlers: [to_file]}\n")
    result = invoke("run", "--project", toy, "-p", "left")
    assert result.exit_code == 0, result.output
    for handler in logging.getLogger("pipeloop.runner").handlers:
        handler.close()
    logged = (toy / "run.log").read_text()  # relative to the project's root, as in Kedro
    assert "Running node: make" in logged
    assert "Running node: make" in result.stderr  # pipeloop's own lines still show


def test_a_params_key_that_matches_no_parameter_is_a_usage_error(
    toy: Path, invoke: Invoke
) -> None:
    result = invoke("run", "--project", toy, "--params", "strat=2")
    assert result.exit_code == 2
    assert "Runtime parameter 'strat' (--params) matches no parameter" in result.stderr
    assert "Did you mean 'start'?" in result.stderr
    assert not (toy / "data").exists()  # refused before any node ran
