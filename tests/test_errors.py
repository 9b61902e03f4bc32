"""pipeloop.errors: each exception is also the builtin Kedro raises in the same place, so code
written for Kedro that catches the builtin keeps catching it."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from pipeloop import DataCatalog, MemoryDataset, Pipeline, SequentialRunner, errors, node


def identity(x: Any) -> Any:
    return x


def two(a: Any, b: Any) -> Any:
    return a


@pytest.mark.parametrize(("cls", "builtin"), [
    (errors.NodeError, ValueError),
    (errors.NodeOutputError, ValueError),
    (errors.NodeSignatureError, TypeError),
    (errors.NodeSignatureError, ValueError),
    (errors.NodeTimeoutError, TimeoutError),
    (errors.PipelineError, ValueError),
    (errors.MissingInputsError, ValueError),
    (errors.ConfigError, ValueError),
    (errors.DatasetNotFoundError, KeyError),
])
def test_builtin_bases(cls: type[Exception], builtin: type[Exception]) -> None:
    assert issubclass(cls, builtin)
    assert issubclass(cls, errors.PipeloopError)


def test_dataset_errors_are_not_value_errors_as_in_kedro() -> None:
    assert not issubclass(errors.DatasetError, ValueError)
    assert not issubclass(errors.ConfigError, errors.DatasetError)


def test_node_made_wrong_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="same output more than once"):
        node(identity, "x", ["y", "y"])
    with pytest.raises(ValueError, match="reads and writes the same dataset"):
        node(identity, "x", "x")


def test_function_that_cannot_take_the_inputs_is_a_node_error() -> None:
    with pytest.raises(errors.NodeError, match="cannot take inputs"):
        node(two, "x", "y")


def test_pipeline_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="more than one node"):
        Pipeline([node(identity, "a", "b", name="one"), node(identity, "c", "b", name="two")])
    pipeline = Pipeline([node(identity, "a", "b", name="one")])
    with pytest.raises(ValueError, match="does not contain nodes named"):
        pipeline.only_nodes("onee")


async def test_missing_inputs_are_a_value_error_before_any_node_runs() -> None:
    ran: list[str] = []

    def record(x: Any) -> Any:
        ran.append("record")
        return x

    pipeline = Pipeline([node(record, "present", "out"), node(two, ["out", "absent"], "z")])
    with pytest.raises(ValueError, match="absent"):
        await SequentialRunner().run(pipeline, DataCatalog({"present": MemoryDataset(1)}))
    assert ran == []


def test_configuration_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="'cars'"):
        DataCatalog.from_config({"cars": {"type": "NoSuchDataset"}})


def test_unknown_dataset_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="'nope' not found"):
        DataCatalog()["nope"]


ERROR_NAMES = sorted(set(errors.__all__) - {"NodesFailedError"})


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_every_error_pickles_with_its_message(name: str) -> None:
    """Errors cross process boundaries (ParallelRunner); each keeps its type and message."""
    cls = getattr(errors, name)
    copied = pickle.loads(pickle.dumps(cls("what went wrong")))
    assert type(copied) is cls
    assert str(copied) == "what went wrong"


@pytest.mark.parametrize("name", ERROR_NAMES)
def test_every_error_can_be_made_by_its_own_new(name: str) -> None:
    """What tblib does to unpickle (Dask sends worker errors so): ``cls.__new__(cls)``. A
    class with two builtin bases of different layouts (ValueError, TimeoutError) needs the
    right ``__new__``."""
    cls = getattr(errors, name)
    made = cls.__new__(cls, "what went wrong")
    assert isinstance(made, cls)
