"""The benchmark suite still runs: every workload, tiny, through the CLI's own entry point.

No wall-clock assertions: timings on a shared CI machine prove nothing. What is checked is
that each workload produces well-formed measurements for every policy it offers, so the
suite cannot rot. Kedro and matplotlib are optional: their parts are skipped when missing.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # the suite lives beside the package, not inside it
    sys.path.insert(0, str(ROOT))

from benchmarks.run import main  # noqa: E402
from benchmarks.workloads import WORKLOADS  # noqa: E402

HAS_KEDRO = importlib.util.find_spec("kedro") is not None
HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    status = main(["--size", "tiny", "--repeat", "1", "--warmup", "0", "--json", "--quiet",
                   *args])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    records = [json.loads(line) for line in captured.out.splitlines() if line.strip()]
    assert records[0]["kind"] == "environment"
    assert "kedro ÷ pipeloop" in captured.err or "pipeloop median" in captured.err  # the table
    return records


def test_every_workload_and_policy_measures(capsys: pytest.CaptureFixture[str]) -> None:
    records = run_cli(capsys, "--runner", "all")
    measurements = [r for r in records if r["kind"] == "measurement"]
    seen = {(r["workload"], r["policy"]) for r in measurements}
    for workload in WORKLOADS.values():
        for policy in workload.policies:
            assert (workload.name, policy) in seen, (workload.name, policy)
    for record in measurements:
        assert record["engine"] == "pipeloop"
        assert record["skipped"] is None, record
        assert record["repeat"] == 1
        assert 0 < record["min_s"] <= record["median_s"] <= record["max_s"]
        assert set(record["metrics"]) >= {"run_s"}
    memory = [r for r in measurements if r["workload"] == "memory"]
    assert all(r["metrics"]["peak_traced_mb"]["median"] >= 0 for r in memory)
    big = [r for r in measurements if r["workload"] == "big-data"]
    assert {r["policy"] for r in big} == {"sequential", "thread", "parallel"}
    assert all(r["metrics"]["peak_pss_mb"]["median"] > 0 for r in big)
    assert any(r["workload"] == "heavy-imports" for r in measurements)
    targets = [r for r in records if r["kind"] == "target"]
    assert targets and all(r["met"] is None for r in targets)  # tiny sizes: not applicable


def test_selection_and_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    records = run_cli(capsys, "--workload", "chain,scale", "--runner", "sequential",
                      "--size", "4,8")
    measurements = [r for r in records if r["kind"] == "measurement"]
    assert {r["workload"] for r in measurements} == {"chain", "scale"}
    assert {r["size"] for r in measurements} == {4, 8}
    assert {r["policy"] for r in measurements} == {"sequential"}
    scale = [r for r in measurements if r["workload"] == "scale"]
    assert all("build_s" in r["metrics"] for r in scale)


def test_logging_is_restored(capsys: pytest.CaptureFixture[str]) -> None:
    before = logging.root.manager.disable
    run_cli(capsys, "--workload", "chain")
    assert logging.root.manager.disable == before


def test_bad_arguments_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--workload", "nope"])
    with pytest.raises(SystemExit):
        main(["--runner", "dask-cluster"])
    assert "unknown" in capsys.readouterr().err


@pytest.mark.skipif(not HAS_KEDRO, reason="kedro is not installed (the [bench] extra)")
def test_compare_kedro(capsys: pytest.CaptureFixture[str]) -> None:
    records = run_cli(capsys, "--compare-kedro", "--workload", "chain,slow-io",
                      "--runner", "sequential,thread")
    engines = {r["engine"] for r in records if r["kind"] == "measurement" and not r["skipped"]}
    assert engines == {"pipeloop", "kedro"}


def test_compare_kedro_without_kedro_still_runs(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.engines
    import benchmarks.run

    monkeypatch.setattr(benchmarks.run, "kedro_missing_reason", lambda: "not installed")
    monkeypatch.setattr(benchmarks.engines, "kedro_missing_reason", lambda: "not installed")
    status = main(["--compare-kedro", "--workload", "chain", "--size", "tiny", "--repeat", "1",
                   "--warmup", "0", "--quiet"])
    out = capsys.readouterr().out
    assert status == 0
    assert "Kedro not compared: not installed" in out


@pytest.mark.skipif(not HAS_MATPLOTLIB, reason="matplotlib is not installed (the [bench] extra)")
def test_plot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    chart = tmp_path / "chart.png"
    run_cli(capsys, "--workload", "chain,scale", "--plot", str(chart))
    assert chart.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(HAS_MATPLOTLIB, reason="checks the message shown without matplotlib")
def test_plot_without_matplotlib_is_refused_before_running(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["--workload", "chain", "--plot", str(tmp_path / "chart.png")])
    assert "needs matplotlib" in capsys.readouterr().err
