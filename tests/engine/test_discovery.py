"""find_pipelines: Kedro's discovery of ``<package>.pipelines.<name>.create_pipeline``."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pipeloop import Pipeline, find_pipelines

_COUNTER = itertools.count()

PIPELINE = """
from pipeloop import Pipeline, node

def _identity(x):
    return x

def create_pipeline():
    return Pipeline([node(_identity, "{name}_in", "{name}_out", name="{name}_node")])
"""


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[
        Callable[[dict[str, str]], str]]:
    """Write a package (relative path -> source) under a fresh name; return the name."""
    monkeypatch.syspath_prepend(str(tmp_path))
    made: list[str] = []

    def make(files: dict[str, str]) -> str:
        name = f"discovery_project_{next(_COUNTER)}"
        made.append(name)
        for relative, source in {"__init__.py": "", **files}.items():
            path = tmp_path / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(source))
        return name

    yield make
    for name in [module for module in sys.modules
                 if any(module.split(".")[0] == package for package in made)]:
        del sys.modules[name]


def _node_names(pipeline: Pipeline) -> list[str]:
    return sorted(n.name for n in pipeline.nodes)


def test_finds_each_pipeline_folder_and_sums_them_as_default(make_package) -> None:
    package = make_package({
        "pipelines/__init__.py": "",
        "pipelines/ingest/__init__.py": PIPELINE.format(name="ingest"),
        "pipelines/model/__init__.py": PIPELINE.format(name="model"),
        "pipelines/__pycache__/x.txt": "",
        "pipelines/.hidden/__init__.py": "raise RuntimeError('never imported')",
    })
    pipelines = find_pipelines(package, raise_errors=True)
    assert list(pipelines) == ["__default__", "ingest", "model"]
    assert _node_names(pipelines["ingest"]) == ["ingest_node"]
    assert _node_names(pipelines["__default__"]) == ["ingest_node", "model_node"]


def test_package_pipeline_module_is_the_default(make_package) -> None:
    package = make_package({
        "pipeline.py": PIPELINE.format(name="main"),
        "pipelines/extra/__init__.py": PIPELINE.format(name="extra"),
    })
    pipelines = find_pipelines(package)
    assert _node_names(pipelines["__default__"]) == ["main_node"]
    assert list(pipelines) == ["__default__", "extra"]


def test_no_pipelines_folder_gives_an_empty_default(make_package) -> None:
    pipelines = find_pipelines(make_package({}))
    assert list(pipelines) == ["__default__"]
    assert pipelines["__default__"].nodes == []


def test_package_is_inferred_from_the_calling_registry(make_package) -> None:
    package = make_package({
        "pipeline_registry.py": """
            from pipeloop import find_pipelines

            def register_pipelines():
                pipelines = find_pipelines(raise_errors=True)
                pipelines["__default__"] = sum(pipelines.values())  # Kedro's template
                return pipelines
        """,
        "pipelines/a/__init__.py": PIPELINE.format(name="a"),
        "pipelines/b/__init__.py": PIPELINE.format(name="b"),
    })
    registry = __import__(f"{package}.pipeline_registry", fromlist=["register_pipelines"])
    pipelines = registry.register_pipelines()
    assert sorted(pipelines) == ["__default__", "a", "b"]
    assert _node_names(pipelines["__default__"]) == ["a_node", "b_node"]


def test_top_level_script_must_name_the_package() -> None:
    namespace = {"__name__": "__main__", "__package__": None, "find": find_pipelines}
    with pytest.raises(ValueError, match="pass it"):
        exec("find()", namespace)


@pytest.mark.parametrize(
    ("source", "problem"),
    [
        ("raise RuntimeError('boom')", "error occurred while importing"),
        ("x = 1", "has no 'create_pipeline'"),
        ("def create_pipeline():\n    return 42", "returned int, not a Pipeline"),
    ],
)
def test_broken_pipeline_warns_or_raises(make_package, source: str, problem: str) -> None:
    package = make_package({
        "pipelines/good/__init__.py": PIPELINE.format(name="good"),
        "pipelines/bad/__init__.py": source,
    })
    with pytest.warns(UserWarning, match=problem) as record:
        pipelines = find_pipelines(package)
    assert f"{package}.pipelines.bad" in str(record[0].message)
    assert list(pipelines) == ["__default__", "good"]
    with pytest.raises(ImportError, match=problem):
        find_pipelines(package, raise_errors=True)


def test_import_error_is_chained_when_raising(make_package) -> None:
    package = make_package({"pipelines/bad/__init__.py": "import no_such_module_here"})
    with pytest.raises(ImportError) as info:
        find_pipelines(package, raise_errors=True)
    assert isinstance(info.value.__cause__, ModuleNotFoundError)
