"""Helpers shared by the CLI tests (fixtures live in conftest.py)."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

from click.testing import Result

REPO = Path(__file__).resolve().parents[2]
IRIS = REPO / "examples" / "iris"

TOY_FILES = {
    "pyproject.toml": """
        [project]
        name = "toy"
        version = "0.1.0"

        [tool.pipeloop]
        package = "toy"
    """,
    "conf/base/catalog.yml": """
        a:
          type: JSONDataset
          filepath: data/a.json
        b:
          type: JSONDataset
          filepath: data/b.json
          versioned: true
        c:
          type: JSONDataset
          filepath: data/c.json
        d:
          type: JSONDataset
          filepath: data/d.json
        e:
          type: JSONDataset
          filepath: data/e.json
    """,
    "conf/base/parameters.yml": """
        start: 1
        scale:
          factor: 2
        fail: false
    """,
    "conf/test/parameters.yml": """
        start: 10
    """,
    "src/toy/__init__.py": "",
    "src/toy/nodes.py": '''
        import logging

        logger = logging.getLogger(__name__)


        def make(start):
            return [start, start + 1, start + 2]


        def double(a, factor):
            return [x * factor for x in a]


        def inc(a):
            return [x + 1 for x in a]


        def square(c):
            return [x * x for x in c]


        def total(b, c, fail):
            if fail:
                raise ValueError("boom")
            return sum(b) + sum(c)


        def report(d, e):
            logger.info("toy report: d=%s", d)
            return {"d": d, "e_sum": sum(e)}
    ''',
    "src/toy/runners.py": '''
        import logging

        from pipeloop import SequentialRunner


        class LabelRunner(SequentialRunner):
            def __init__(self, label="plain", *, is_async=True):
                super().__init__(is_async=is_async)
                self.label = label

            async def run(self, pipeline, catalog, **kwargs):
                logging.getLogger("toy.runners").info(
                    "LabelRunner %s runs %d nodes", self.label, len(pipeline.nodes))
                return await super().run(pipeline, catalog, **kwargs)


        class NotARunner:
            pass
    ''',
    "src/toy/pipeline_registry.py": '''
        from pipeloop import Pipeline, node

        from toy.nodes import double, inc, make, report, square, total


        def register_pipelines():
            everything = Pipeline([
                node(make, "params:start", "a", name="make", tags="first"),
                node(double, ["a", "params:scale.factor"], "b", name="double", tags="math"),
                node(inc, "a", "c", name="inc", namespace="extra"),
                node(square, "c", "e"),
                node(total, ["b", "c", "params:fail"], "d", name="total",
                     tags=["math", "final"]),
                node(report, ["d", "e"], "summary", name="report"),
            ])
            return {
                "__default__": everything,
                "all": everything,
                "left": everything.only_nodes("make", "double"),
                "right": everything.only_nodes("make", "extra.inc"),
                "orphan": Pipeline([node(inc, "nowhere", "z", name="orphan")]),
            }
    ''',
}

SQUARE = "square__7821581f"  # Kedro 1.x's default name of node(square, "c", "e")
SQUARE_LOGGED = "square([c]) -> [e]"  # how "Running node:" shows that unnamed node
"""The default name of the toy project's unnamed node."""


def write_files(root: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (relative path -> text, dedented) under ``root``."""
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def read_json(path: Path) -> object:
    """The JSON document at ``path``."""
    return json.loads(path.read_text(encoding="utf-8"))


Invoke = Callable[..., Result]
"""``invoke("run", "--project", path, ...)``: the ``pipeloop`` command, in-process."""
