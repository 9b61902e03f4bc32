"""The public façade: ``pipeloop.__all__``, the deprecated spellings, ``py.typed``."""

from __future__ import annotations
import __future__

import importlib
import importlib.resources
import importlib.util
import re
import warnings
from pathlib import Path

import pytest

import pipeloop
import pipeloop.errors
import pipeloop.testing

DESIGN = Path(__file__).resolve().parents[2] / "shared" / "DESIGN.md"

# The names DESIGN.md's "Public contract" imports from ``pipeloop`` itself.
CONTRACT = {
    "node", "Node", "Pipeline", "pipeline",
    "DataCatalog", "AbstractDataset", "MemoryDataset", "LambdaDataset",
    "AbstractRunner", "SequentialRunner", "ThreadRunner", "ParallelRunner",
    "errors",
}


def test_all_is_sorted() -> None:
    assert pipeloop.__all__ == sorted(pipeloop.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(pipeloop.__all__) == len(set(pipeloop.__all__))


def test_all_names_the_design_contract() -> None:
    assert set(pipeloop.__all__) >= CONTRACT


@pytest.mark.skipif(not DESIGN.exists(), reason="the design document lives outside the repo")
def test_contract_list_matches_design_document() -> None:
    text = DESIGN.read_text()
    block = re.search(r"from pipeloop import \((.*?)\)", text, re.S)
    assert block is not None
    named = {name.strip() for name in block.group(1).replace("\n", " ").split(",")}
    named.discard("")
    assert named <= CONTRACT


def test_every_name_in_all_imports() -> None:
    for name in pipeloop.__all__:
        assert getattr(pipeloop, name) is not None, name
    namespace: dict[str, object] = {}
    exec("from pipeloop import *", namespace)
    assert set(pipeloop.__all__) <= set(namespace)


def test_dask_runner_imports_from_the_package_or_says_what_to_install() -> None:
    assert importlib.util.find_spec("pipeloop.engine.runners.dask") is not None
    try:
        from pipeloop import DaskRunner
    except ImportError as exc:
        assert "pipeloop[dask]" in str(exc)
        assert "DaskRunner" not in pipeloop.__all__
    else:
        assert "DaskRunner" in pipeloop.__all__
        assert issubclass(DaskRunner, pipeloop.AbstractRunner)


def test_public_callables_come_from_the_package() -> None:
    for name in pipeloop.__all__:
        value = getattr(pipeloop, name)
        if isinstance(value, type(pipeloop)):
            assert value.__name__.startswith("pipeloop."), name
        elif callable(value):
            assert value.__module__.startswith("pipeloop."), (name, value.__module__)


def test_no_stray_public_names() -> None:
    """Nothing public-looking is exported by accident (modules imported for side effects
    are fine; they are not in ``__all__``)."""
    public = {
        name for name, value in vars(pipeloop).items()
        if not name.startswith("_")
        and not isinstance(value, (type(pipeloop), __future__._Feature))
    }
    assert public <= set(pipeloop.__all__)


def test_errors_module_exports_its_hierarchy() -> None:
    assert pipeloop.errors.__all__ == sorted(pipeloop.errors.__all__)
    for name in pipeloop.errors.__all__:
        cls = getattr(pipeloop.errors, name)
        assert issubclass(cls, pipeloop.errors.PipeloopError), name
    assert issubclass(pipeloop.errors.DatasetNotFoundError, KeyError)
    assert issubclass(pipeloop.errors.NodeTimeoutError, TimeoutError)
    assert issubclass(pipeloop.errors.NodesFailedError, ExceptionGroup)


def test_datasets_subpackage_exports() -> None:
    datasets = importlib.import_module("pipeloop.datasets")
    assert datasets.__all__ == sorted(datasets.__all__)
    for name in ("AbstractDataset", "DataCatalog", "LambdaDataset", "MemoryDataset"):
        assert getattr(datasets, name) is getattr(pipeloop, name)


def test_testing_module_exports() -> None:
    assert pipeloop.testing.__all__ == sorted(pipeloop.testing.__all__)
    for name in pipeloop.testing.__all__:
        assert getattr(pipeloop.testing, name) is not None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("MemoryDataSet", "MemoryDataset"),
        ("LambdaDataSet", "LambdaDataset"),
        ("AbstractDataSet", "AbstractDataset"),
    ],
)
def test_deprecated_aliases(old: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=new):
        alias = getattr(pipeloop, old)
    assert alias is getattr(pipeloop, new)
    assert old not in pipeloop.__all__


def test_deprecated_alias_by_from_import() -> None:
    with pytest.warns(DeprecationWarning, match="MemoryDataset"):
        from pipeloop import MemoryDataSet  # type: ignore[attr-defined]
    assert MemoryDataSet is pipeloop.MemoryDataset


def test_unknown_attribute_is_an_attribute_error() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(AttributeError, match="NoSuchThing"):
            pipeloop.NoSuchThing  # type: ignore[attr-defined]  # noqa: B018


def test_find_pipelines_is_public() -> None:
    from pipeloop.engine.discovery import find_pipelines

    assert pipeloop.find_pipelines is find_pipelines
    assert "find_pipelines" in pipeloop.__all__


def test_py_typed_is_shipped() -> None:
    marker = importlib.resources.files("pipeloop") / "py.typed"
    assert marker.is_file()


def test_version_is_a_string() -> None:
    assert isinstance(pipeloop.__version__, str)
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", pipeloop.__version__)


def test_secret_masking_is_public() -> None:
    import logging

    from pipeloop.datasets import secrets

    assert {"MaskSecretsFilter", "SecretMasker"} <= set(pipeloop.__all__)
    assert pipeloop.MaskSecretsFilter is secrets.MaskSecretsFilter
    assert pipeloop.SecretMasker is secrets.SecretMasker
    assert issubclass(pipeloop.MaskSecretsFilter, logging.Filter)
    assert secrets.__all__ == sorted(secrets.__all__)
