"""A project hook: logs each node it sees, and counts the hook calls of the run into
``data/08_reporting/hook_counts.json`` (so a test can compare runs)."""

import json
import logging
import threading
from collections import Counter
from pathlib import Path

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)


class ProjectHooks:
    def __init__(self):
        self._lock = threading.Lock()
        self._counts = Counter()

    def _count(self, *key):
        with self._lock:
            self._counts["/".join(key)] += 1

    @hook_impl
    def before_node_run(self, node, inputs):
        self._count("before_node_run", node.name)
        logger.info("About to run %s on %s", node.name, sorted(inputs))

    @hook_impl
    def after_node_run(self, node, outputs):
        self._count("after_node_run", node.name, *sorted(outputs))

    @hook_impl
    def after_dataset_loaded(self, dataset_name, node):
        self._count("after_dataset_loaded", dataset_name, node.name)

    @hook_impl
    def after_dataset_saved(self, dataset_name, node):
        self._count("after_dataset_saved", dataset_name, node.name)

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, catalog):
        self._count("after_pipeline_run", *sorted(run_result))
        path = Path.cwd() / "data" / "08_reporting" / "hook_counts.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(dict(sorted(self._counts.items())), indent=1))
