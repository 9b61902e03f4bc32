"""Helpers for the Kedro bridge tests: a small Kedro 1.x project written by hand, and
``kedro run`` as a subprocess (Kedro's CLI, the way a user runs it).

The project (package ``toy_kedro``) uses what a Kedro project does: ``[tool.kedro]``,
``settings.py`` with a project hook, a pipeline registry, ``catalog.yml`` with
kedro-datasets types (one dataset transcoded, ``stats@json``/``stats@text`` on one file),
``parameters.yml`` (nested keys, dict inputs), undeclared memory datasets and a free
output. Its hook (``hooks.py``) appends every hook call to ``hook_calls.jsonl``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

TOY_FILES: dict[str, str] = {
    "pyproject.toml": """\
[project]
name = "toy_kedro"
version = "0.1"

[tool.kedro]
package_name = "toy_kedro"
project_name = "toy-kedro"
kedro_init_version = "1.7.0"
source_dir = "src"
""",
    "conf/base/catalog.yml": """\
raw:
  type: json.JSONDataset
  filepath: data/01_raw/raw.json

cleaned:
  type: json.JSONDataset
  filepath: data/02_intermediate/cleaned.json

stats@json:
  type: json.JSONDataset
  filepath: data/03_primary/stats.json

stats@text:
  type: text.TextDataset
  filepath: data/03_primary/stats.json

report:
  type: text.TextDataset
  filepath: data/08_reporting/report.txt

summary:
  type: yaml.YAMLDataset
  filepath: data/08_reporting/summary.yml
""",
    "conf/base/parameters.yml": """\
scale: 3
nested:
  offset: 10
fail: false
""",
    "conf/local/.gitkeep": "",
    "data/01_raw/raw.json": json.dumps({"values": [3, 1, 4, 1, 5, 9, 2, 6]}),
    "src/toy_kedro/__init__.py": '__version__ = "0.1"\n',
    "src/toy_kedro/settings.py": """\
from toy_kedro.hooks import RecordingHooks

HOOKS = (RecordingHooks(),)
""",
    "src/toy_kedro/pipeline_registry.py": """\
from toy_kedro.pipeline import create_failing_pipeline, create_pipeline


def register_pipelines():
    main = create_pipeline()
    return {"__default__": main, "main": main, "failing": main + create_failing_pipeline()}
""",
    "src/toy_kedro/nodes.py": """\
def clean(raw, scale):
    return {"values": sorted(v * scale for v in raw["values"])}


def double(cleaned):
    return [2 * v for v in cleaned["values"]]


def stats(doubled):
    return {"n": len(doubled), "max": max(doubled), "sum": sum(doubled)}


def describe(text, offset):
    return f"stats file: {text.strip()} (offset {offset})\\n"


def summarize(cleaned, doubled):
    return {"total": {"cleaned": sum(cleaned["values"]), "doubled": sum(doubled)},
            "count": len(doubled)}


def check(summary, report, fail):
    if fail:
        raise ValueError("check failed on purpose")
    return summary["cleaned"]
""",
    "src/toy_kedro/pipeline.py": """\
from kedro.pipeline import Pipeline, node

from toy_kedro.nodes import check, clean, describe, double, stats, summarize


def create_pipeline():
    return Pipeline([
        node(clean, ["raw", "params:scale"], "cleaned", name="clean"),
        node(double, "cleaned", "doubled", name="double"),
        node(stats, "doubled", "stats@json", name="stats"),
        node(describe, {"text": "stats@text", "offset": "params:nested.offset"}, "report",
             name="describe"),
        node(summarize, ["cleaned", "doubled"], {"total": "summary", "count": "count"}),
    ])


def create_failing_pipeline():
    return Pipeline([node(check, ["summary", "report", "params:fail"], "checked",
                          name="check")])
""",
    "src/toy_kedro/hooks.py": """\
import json
import threading
from pathlib import Path

from kedro.framework.hooks import hook_impl

_LOCK = threading.Lock()
LOG = Path(__file__).resolve().parents[2] / "hook_calls.jsonl"


def _data(value):
    try:
        return json.loads(json.dumps(value, sort_keys=True))
    except TypeError:
        return type(value).__name__


def _record(hook, **fields):
    with _LOCK, LOG.open("a") as log:
        log.write(json.dumps({"hook": hook, **fields}, sort_keys=True) + "\\n")


class RecordingHooks:
    @hook_impl
    def before_pipeline_run(self, run_params, pipeline, catalog):
        _record("before_pipeline_run", nodes=sorted(n.name for n in pipeline.nodes))

    @hook_impl
    def after_pipeline_run(self, run_params, run_result, pipeline, catalog):
        _record("after_pipeline_run", run_result={
            name: [type(ds).__name__, _data(ds.load())] for name, ds in run_result.items()})

    @hook_impl
    def on_pipeline_error(self, error, run_params, pipeline, catalog):
        _record("on_pipeline_error", error=repr(error))

    @hook_impl
    def before_node_run(self, node, catalog, inputs, is_async, run_id):
        _record("before_node_run", node=node.name, node_type=type(node).__module__,
                inputs=_data(inputs), is_async=is_async, run_id=bool(run_id),
                catalog=type(catalog).__name__)
        if node.name == "double":
            # replaces an input, as Kedro allows
            return {"cleaned": {"values": inputs["cleaned"]["values"] + [100]}}
        return None

    @hook_impl
    def after_node_run(self, node, catalog, inputs, outputs, is_async, run_id):
        _record("after_node_run", node=node.name, inputs=_data(inputs),
                outputs=_data(outputs), is_async=is_async, run_id=bool(run_id))

    @hook_impl
    def on_node_error(self, error, node, catalog, inputs, is_async, run_id):
        _record("on_node_error", node=node.name, error=repr(error), inputs=_data(inputs))

    @hook_impl
    def before_dataset_loaded(self, dataset_name, node):
        _record("before_dataset_loaded", dataset=dataset_name, node=node.name)

    @hook_impl
    def after_dataset_loaded(self, dataset_name, data, node):
        _record("after_dataset_loaded", dataset=dataset_name, node=node.name, data=_data(data))

    @hook_impl
    def before_dataset_saved(self, dataset_name, data, node):
        _record("before_dataset_saved", dataset=dataset_name, node=node.name, data=_data(data))

    @hook_impl
    def after_dataset_saved(self, dataset_name, data, node):
        _record("after_dataset_saved", dataset=dataset_name, node=node.name, data=_data(data))
""",
}


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text) under ``root``; return ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def kedro_run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``kedro run *args`` in ``project`` with this interpreter, pipeloop importable from
    the repository, and Kedro's telemetry off (the tests run offline)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(KEDRO_DISABLE_TELEMETRY="true", DO_NOT_TRACK="1", COLUMNS="200", MPLBACKEND="Agg",
               PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "kedro", "run", *args], cwd=project,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


def hook_calls(project: Path) -> list[dict[str, Any]]:
    """The hook calls the project's hook recorded, in the order they were made."""
    log = project / "hook_calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def data_files(project: Path) -> dict[str, bytes]:
    """Every file under ``project/data``, by relative path."""
    root = project / "data"
    return {path.relative_to(root).as_posix(): path.read_bytes()
            for path in sorted(root.rglob("*")) if path.is_file()}


# -- the spaceflights project --------------------------------------------------------------

SPACEFLIGHTS = Path(__file__).parent / "spaceflights"


def write_shuttles(path: Path, rows: int = 40) -> None:
    """The raw shuttles table as an Excel file (generated: the repository keeps no binary
    data). Deterministic, so two runs read the same data."""
    import random

    import pandas as pd

    rng = random.Random(11)
    frame = pd.DataFrame({
        "id": range(2000, 2000 + rows),
        "shuttle_location": [rng.choice(["Sao Tome", "Wallis", "Niue"]) for _ in range(rows)],
        "shuttle_type": [rng.choice(["Type V5", "Type F5", "Type A2"]) for _ in range(rows)],
        "engine_type": [rng.choice(["Quantum", "Plasma"]) for _ in range(rows)],
        "engines": [float(rng.randint(1, 4)) for _ in range(rows)],
        "passenger_capacity": [rng.randint(2, 12) for _ in range(rows)],
        "crew": [float(rng.randint(1, 6)) for _ in range(rows)],
        "d_check_complete": [rng.choice(["t", "f"]) for _ in range(rows)],
        "moon_clearance_complete": [rng.choice(["t", "f"]) for _ in range(rows)],
        "price": [f"${rng.randint(900, 5000):,}.0" for _ in range(rows)],
        "company_id": [1000 + rng.randrange(30) for _ in range(rows)],
    })
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_excel(path, index=False, engine="openpyxl")


def copy_spaceflights(target: Path) -> Path:
    """A runnable copy of the spaceflights project at ``target``, its Excel data made."""
    import shutil

    shutil.copytree(SPACEFLIGHTS, target,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    write_shuttles(target / "data" / "01_raw" / "shuttles.xlsx")
    return target


#: ``from kedro... import`` lines a project writes, and pipeloop's spelling of each.
PIPELOOP_IMPORTS = {
    "from kedro.pipeline import": "from pipeloop import",
    "from kedro.framework.project import": "from pipeloop import",
    "from kedro.framework.hooks import": "from pipeloop import",
    "from kedro.io import": "from pipeloop import",
}


def rewrite_kedro_imports(project: Path) -> list[Path]:
    """Rewrite ``from kedro... import`` to ``from pipeloop import`` in every Python file of
    ``project`` (the only change a Kedro project needs to run under ``pipeloop run``, once
    pipeloop has ``find_pipelines`` and ``hook_impl``); return the files changed."""
    changed = []
    for path in sorted(project.rglob("*.py")):
        text = original = path.read_text()
        for kedro, pipeloop in PIPELOOP_IMPORTS.items():
            text = text.replace(kedro, pipeloop)
        if text != original:
            path.write_text(text)
            changed.append(path)
    return changed


def pipeloop_run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pipeloop run --project project *args`` with this interpreter."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(MPLBACKEND="Agg", PYTHONWARNINGS="ignore")
    main = "from pipeloop.cli.main import main; main()"
    return subprocess.run([sys.executable, "-c", main, "run", "--project", str(project), *args],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300,
                          check=False)


def output_files(project: Path) -> dict[str, bytes]:
    """What a run wrote under ``project/data`` (not the raw inputs), by path, with the
    version folder of versioned datasets left out (it is the run's timestamp)."""
    root = project / "data"
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if not path.is_file() or relative.parts[0] == "01_raw":
            continue
        parts = list(relative.parts)
        if len(parts) >= 3 and parts[-3] == parts[-1]:  # name/<version>/name
            del parts[-2]
        found["/".join(parts)] = path.read_bytes()
    return found
