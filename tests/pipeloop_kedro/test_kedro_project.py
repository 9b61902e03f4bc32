"""``kedro run`` of an unchanged Kedro project, with Kedro's runner and with pipeloop's.

Both runs write the same files, and the project's hook sees the same calls with the same
arguments (Kedro's own Node and catalog types among them), in an order Kedro allows.
"""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("kedro", minversion="1.0")
pytest.importorskip("kedro_datasets")

from kedro_helpers import TOY_FILES, data_files, hook_calls, kedro_run, write_files

RUNNERS = ["pipeloop.kedro.SequentialRunner", "pipeloop.kedro.ThreadRunner",
           "pipeloop.kedro.ParallelRunner"]


def _run(tmp: Path, *args: str) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    project = write_files(tmp, TOY_FILES)
    result = kedro_run(project, *args)
    assert result.returncode == 0, result.stdout + result.stderr
    return hook_calls(project), data_files(project)


@pytest.fixture(scope="module")
def kedro_baseline(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]],
                                                                       dict[str, bytes]]:
    """The hook calls and data files of a plain ``kedro run`` (Kedro's SequentialRunner)."""
    return _run(tmp_path_factory.mktemp("kedro") / "toy")


def _without_is_async(calls: list[dict[str, Any]]) -> Counter[str]:
    return Counter(repr(sorted((k, v) for k, v in call.items() if k != "is_async"))
                   for call in calls)


def _check_kedro_order(calls: list[dict[str, Any]]) -> None:
    """Per node: loads, ``before_node_run``, ``after_node_run``, saves; and every dataset
    (any format of a transcoded one) saved before a node loads it."""
    position: dict[tuple[str, ...], int] = {}
    for index, call in enumerate(calls):
        key = (call["hook"], call.get("node", ""), call.get("dataset", ""))
        position.setdefault(key, index)
    saved = {call["dataset"].split("@")[0]: position[("after_dataset_saved", call["node"],
                                                      call["dataset"])]
             for call in calls if call["hook"] == "after_dataset_saved"}
    for call in calls:
        node, hook = call.get("node"), call["hook"]
        if hook == "after_dataset_loaded":
            assert position[(hook, node, call["dataset"])] < \
                position[("before_node_run", node, "")]
            base = call["dataset"].split("@")[0]
            if base in saved:
                assert saved[base] < position[("before_dataset_loaded", node, call["dataset"])]
        if hook == "before_dataset_saved":
            assert position[("after_node_run", node, "")] < position[(hook, node,
                                                                      call["dataset"])]
    assert calls[0]["hook"] == "before_pipeline_run"
    assert calls[-1]["hook"] == "after_pipeline_run"


@pytest.mark.parametrize("runner", RUNNERS)
def test_pipeloop_runner_writes_what_kedro_writes_and_fires_the_same_hooks(
    runner: str, kedro_baseline: tuple[list[dict[str, Any]], dict[str, bytes]], tmp_path: Path
) -> None:
    expected_calls, expected_files = kedro_baseline
    calls, files = _run(tmp_path / "toy", f"--runner={runner}")
    assert files == expected_files
    assert _without_is_async(calls) == _without_is_async(expected_calls)
    # Kedro's CLI passes is_async=False, yet loads and saves overlap, and hooks are told so.
    assert {call["is_async"] for call in calls if "is_async" in call} == {True}
    assert {call["node_type"] for call in calls if "node_type" in call} == {
        "kedro.pipeline.node"}
    _check_kedro_order(calls)


def test_concurrent_io_off_moves_one_dataset_at_a_time_and_hooks_match_exactly(
    kedro_baseline: tuple[list[dict[str, Any]], dict[str, bytes]], tmp_path: Path
) -> None:
    expected_calls, expected_files = kedro_baseline
    calls, files = _run(tmp_path / "toy", "--runner=pipeloop.kedro.ThreadRunner",
                        "--runner-params=concurrent_io=False")
    assert files == expected_files
    assert Counter(map(repr, calls)) == Counter(map(repr, expected_calls))


def test_a_failing_node_fails_the_run_with_the_hooks_kedro_fires(tmp_path: Path) -> None:
    args = ("--pipelines=failing", "--params=fail=true")
    runs = {}
    for runner in ("SequentialRunner", "pipeloop.kedro.ThreadRunner"):
        project = write_files(tmp_path / runner, TOY_FILES)
        result = kedro_run(project, f"--runner={runner}", *args)
        assert result.returncode != 0
        assert "check failed on purpose" in result.stdout + result.stderr
        runs[runner] = hook_calls(project)
    kedro, pipeloop = runs.values()
    assert _without_is_async(pipeloop) == _without_is_async(kedro)
    errors = [call for call in pipeloop if call["hook"].endswith("_error")]
    assert [call["hook"] for call in errors] == ["on_node_error", "on_pipeline_error"]
    assert errors[0]["node"] == "check"


def test_the_project_is_left_unchanged(tmp_path: Path) -> None:
    """Nothing in the project names pipeloop: the runner is chosen on the command line."""
    project = write_files(tmp_path / "toy", TOY_FILES)
    assert not [path for path in project.rglob("*")
                if path.is_file() and "pipeloop" in path.read_text()]
    shutil.rmtree(project)
