"""``pipeloop run --runner=<dotted path>`` with the guide's DryRunner, in both spellings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cli_helpers import Invoke, read_json, write_files

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


KEDRO_THREAD_RUNNER = '''
from concurrent.futures import ThreadPoolExecutor

from pipeloop import AbstractRunner


class ThreadRunner(AbstractRunner):
    """As Kedro 1.x writes its thread runner: a worker count and an executor."""

    def __init__(self, max_workers=None, is_async=False):
        super().__init__(is_async=is_async)
        self._max_workers = max_workers

    def _get_required_workers_count(self, pipeline):
        required_threads = len(pipeline.nodes) - len(pipeline.grouped_nodes) + 1
        return (min(required_threads, self._max_workers) if self._max_workers
                else required_threads)

    def _get_executor(self, max_workers):
        return ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="kedro-x")

    def _run(self, pipeline, catalog, hook_manager=None, run_id=None):
        super()._run(pipeline=pipeline, catalog=catalog, hook_manager=hook_manager,
                     run_id=run_id)
'''

THREADS_PROJECT = {
    "pyproject.toml": "[tool.pipeloop]\npackage = 'threads'\n",
    "conf/base/catalog.yml": """
        a:
          type: JSONDataset
          filepath: data/a.json
        b:
          type: JSONDataset
          filepath: data/b.json
    """,
    "src/threads/__init__.py": "",
    "src/threads/runner.py": KEDRO_THREAD_RUNNER,
    "src/threads/pipeline_registry.py": '''
        import threading

        from pipeloop import Pipeline, node


        def thread_name():
            return threading.current_thread().name


        def register_pipelines():
            return {"__default__": Pipeline([node(thread_name, None, "a", name="one"),
                                             node(thread_name, None, "b", name="two")])}
    ''',
}


def test_kedro_get_executor_runner_from_the_command_line(tmp_path: Path, invoke: Invoke) -> None:
    project = write_files(tmp_path / "threads", THREADS_PROJECT)
    result = invoke("run", "--project", project, "--runner=threads.runner.ThreadRunner")
    assert result.exit_code == 0, result.output
    for name in ("a", "b"):
        thread = read_json(project / "data" / f"{name}.json")
        assert isinstance(thread, str) and thread.startswith("kedro-x"), thread
