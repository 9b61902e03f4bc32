"""``pipeloop run --runner=<dotted path>`` with the guide's DryRunner, in both spellings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cli_helpers import Invoke

DRY_RUNNER = '''
from pipeloop import AbstractRunner, MemoryDataSet


class DryRunner(AbstractRunner):
    def create_default_data_set(self, ds_name):
        return MemoryDataSet()

    def _run(self, pipeline, catalog):
        nodes = pipeline.nodes
        self._logger.info("Actual run would execute %d nodes:\\n%s",
                          len(nodes), "\\n".join(map(str, nodes)))
'''


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("path", ["toy.runner.DryRunner", "src.toy.runner.DryRunner"])
def test_guide_dry_runner_from_the_command_line(
        toy: Path, invoke: Invoke, path: str, caplog: pytest.LogCaptureFixture) -> None:
    (toy / "src" / "toy" / "runner.py").write_text(DRY_RUNNER)
    caplog.set_level(logging.INFO)
    result = invoke("run", "--project", toy, f"--runner={path}")
    assert result.exit_code == 0, result.output
    assert "Actual run would execute 6 nodes" in caplog.text + result.output
    assert not (toy / "data").exists() or not any((toy / "data").rglob("*.json"))
