"""``--progress``: the live display, and when it is shown."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest
from cli_helpers import Invoke

from pipeloop import DataCatalog, MemoryDataset, Pipeline, ThreadRunner, node
from pipeloop.cli.progress import ProgressDisplay, wants_progress


def _inc(x: int) -> int:
    return x + 1


def test_the_option_wins_else_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    assert wants_progress(True) is True
    assert wants_progress(False) is False
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert wants_progress(None) is False


def test_the_display_counts_nodes_and_names_the_running_ones(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stderr = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stderr)
    pipe = Pipeline([node(_inc, "x", f"y{i}", name=f"node_{i}") for i in range(5)])
    display = ProgressDisplay(force_terminal=True)
    with display:
        display.before_pipeline_run(pipe)
        for item in pipe.nodes:
            display.on_node_start(item)
        assert display.description() == "running: node_0, node_1, node_2 (+2 more)"
        display.on_node_end(pipe.nodes[0], ValueError("x"))
        display.on_node_end(pipe.nodes[1], None)
        assert display.description().startswith("[red]1 failed[/red] · running: node_2")
        ThreadRunner().run_sync(Pipeline([pipe.nodes[2]]), DataCatalog({"x": MemoryDataset(1)}),
                                hooks=[display])
    assert "nodes" in stderr.getvalue()


def test_forced_progress_draws_on_stderr_and_the_run_succeeds(
    toy: Path, invoke: Invoke
) -> None:
    result = invoke("run", "--project", toy, "--progress")
    assert result.exit_code == 0, result.output
    assert "6/6" in result.stderr
    assert "Pipeline execution completed successfully." in result.stderr


def test_no_progress_draws_nothing(toy: Path, invoke: Invoke) -> None:
    result = invoke("run", "--project", toy, "--no-progress")
    assert result.exit_code == 0, result.output
    assert "6/6" not in result.stderr and "━" not in result.stderr
