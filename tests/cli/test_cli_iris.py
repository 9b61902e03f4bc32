"""The iris example: every runner gets the same model and the same accuracy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import Invoke, read_json

SUCCESS = "Pipeline execution completed successfully."
ACCURACY = "Model has an accuracy of 0.967 on test data (29 of 30 correct)."
METRICS = {"accuracy": 29 / 30, "correct": 29, "total": 30}

DASK_THREADS = "cluster_kwargs={processes: false, n_workers: 2, dashboard_address: ':0'}"
DASK_PROCESSES = "cluster_kwargs={processes: true, n_workers: 1, dashboard_address: ':0'}"


@pytest.mark.parametrize(
    ("options", "logs_accuracy"),
    [
        ([], True),
        (["--runner", "SequentialRunner", "--no-async"], True),
        (["--runner", "ThreadRunner", "--max-workers", "2"], True),
        (["--parallel", "--max-workers", "2"], True),  # replayed from the worker process
        (["--runner", "DaskRunner", "--runner-params", DASK_THREADS], True),
        (["--runner", "DaskRunner", "--runner-params", DASK_PROCESSES], False),
    ],
    ids=["default", "sequential", "thread", "parallel", "dask-threads", "dask-processes"],
)
def test_every_runner_gets_the_same_result(
    iris: Path, invoke: Invoke, options: list[str], logs_accuracy: bool
) -> None:
    if "DaskRunner" in options:
        pytest.importorskip("distributed")
    result = invoke("run", "--project", iris, *options)
    assert result.exit_code == 0, result.output
    assert result.stderr.rstrip().endswith(SUCCESS)
    assert (ACCURACY in result.stderr) is logs_accuracy
    assert read_json(iris / "data" / "08_reporting" / "metrics.json") == METRICS
    model = read_json(iris / "data" / "06_models" / "model.json")
    assert isinstance(model, dict)
    assert model["classes"] == ["setosa", "versicolor", "virginica"]


def test_the_pipelines_run_one_after_the_other(iris: Path, invoke: Invoke) -> None:
    de = invoke("run", "--project", iris, "--pipeline", "de")
    assert de.exit_code == 0, de.output
    assert "Split 150 rows: 120 to train, 30 to test." in de.stderr
    ds = invoke("run", "--project", iris, "-p", "ds", "--params", "model_options.epochs=200")
    assert ds.exit_code == 0, ds.output
    assert ACCURACY in ds.stderr


def test_the_readme_command_in_a_fresh_process(iris: Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PIPELOOP_")}
    command = [sys.executable, "-m", "pipeloop.cli.main", "run", "--project", iris.name]
    done = subprocess.run(command, cwd=iris.parent, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    last_lines = done.stderr.splitlines()[-4:]
    assert any(ACCURACY in line for line in last_lines)
    assert last_lines[-1].endswith(SUCCESS)
    assert done.stdout == ""


def test_dask_runner_with_the_address_of_a_running_cluster(iris: Path, invoke: Invoke) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster:
        result = invoke("run", "--project", iris, "-r", "DaskRunner",
                        "--address", cluster.scheduler_address)
    assert result.exit_code == 0, result.output
    assert read_json(iris / "data" / "08_reporting" / "metrics.json") == METRICS
