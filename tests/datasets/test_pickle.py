"""PickleDataset: any picklable object round-trips; pickle's options pass through."""

from __future__ import annotations

import datetime
import os
import pickle
from collections import OrderedDict
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeloop.datasets.file import Version
from pipeloop.datasets.pickle import PickleDataset
from pipeloop.errors import DatasetError

hashable = st.none() | st.booleans() | st.integers() | st.text() | st.binary() | st.dates()
picklable = st.recursive(
    hashable
    | st.floats(allow_nan=False)
    | st.complex_numbers(allow_nan=False)
    | st.decimals(allow_nan=False)
    | st.fractions()
    | st.datetimes(),
    lambda children: (
        st.lists(children)
        | st.tuples(children, children)
        | st.dictionaries(hashable, children)
        | st.frozensets(hashable)
        | st.sets(hashable)
    ),
    max_leaves=25,
).filter(lambda value: value is not None)  # saving None is refused by every dataset


@settings(
    max_examples=75, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=picklable)
async def test_round_trip_generated(tmp_path: Path, data: Any) -> None:
    dataset = PickleDataset(tmp_path / "data.pkl")
    await dataset.save(data)
    loaded = await dataset.load()
    assert loaded == data
    assert type(loaded) is type(data)


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and (self.x, self.y) == (other.x, other.y)


@pytest.mark.parametrize(
    "data",
    [
        [],
        b"",
        Point(1, 2),
        OrderedDict(b=1, a="Zoë 🚀"),
        {"when": datetime.datetime(2024, 5, 1, 9, 30), "price": Decimal("1.10")},
        (Fraction(1, 3), {1, 2}, frozenset({"x"})),
    ],
)
async def test_round_trip(tmp_path: Path, data: Any) -> None:
    dataset = PickleDataset(tmp_path / "data.pkl")
    await dataset.save(data)
    assert await dataset.load() == data


async def test_save_args_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    await PickleDataset(path, save_args={"protocol": 2}).save([1, 2])
    assert path.read_bytes()[:2] == b"\x80\x02"  # the protocol-2 header
    await PickleDataset(path, save_args={"protocol": 5}).save([1, 2])
    assert path.read_bytes()[:2] == b"\x80\x05"


async def test_load_args_pass_through(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    # A Python 2 str pickle: its bytes decode per the ``encoding`` load arg.
    path.write_bytes(b"S'caf\\xe9'\np0\n.")
    assert await PickleDataset(path, load_args={"encoding": "latin-1"}).load() == "café"
    assert await PickleDataset(path, load_args={"encoding": "bytes"}).load() == b"caf\xe9"


async def test_unpicklable_data_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    await PickleDataset(path).save({"version": 1})
    with pytest.raises(DatasetError, match="Failed while saving") as info:
        await PickleDataset(path).save({"version": 2, "fn": lambda: None})
    assert str(path) in str(info.value)
    assert pickle.loads(path.read_bytes()) == {"version": 1}
    assert os.listdir(tmp_path) == ["data.pkl"]


async def test_corrupt_file_is_a_dataset_error(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    path.write_bytes(b"not a pickle")
    with pytest.raises(DatasetError, match="Failed while loading"):
        await PickleDataset(path).load()


def test_docstring_warns_about_untrusted_files() -> None:
    assert PickleDataset.__doc__ is not None
    assert "untrusted" in PickleDataset.__doc__
    assert "runs code" in PickleDataset.__doc__


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="cannot import backend 'no_such_pickler'"):
        PickleDataset(tmp_path / "x.pkl", backend="no_such_pickler")


def test_backend_without_pickle_api_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no dumps\\(\\)/loads\\(\\)"):
        PickleDataset(tmp_path / "x.pkl", backend="os")


async def test_other_backend_is_used(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    dataset = PickleDataset(path, backend="marshal")  # a module with the same API
    await dataset.save({"a": (1, 2)})
    assert await dataset.load() == {"a": (1, 2)}
    with pytest.raises(pickle.UnpicklingError):
        pickle.loads(path.read_bytes())  # really marshal's format, not pickle's
    assert "backend='marshal'" in repr(dataset)


async def test_exists_release_and_parents(tmp_path: Path) -> None:
    dataset = PickleDataset(tmp_path / "models" / "v" / "model.pkl")
    assert not await dataset.exists()
    await dataset.save(Point(3, 4))
    assert await dataset.exists()
    await dataset.release()
    assert await dataset.load() == Point(3, 4)


async def test_versioned(tmp_path: Path) -> None:
    filepath = tmp_path / "model.pkl"
    await PickleDataset(filepath, version=Version(None, "a")).save(1)
    await PickleDataset(filepath, version=Version(None, "b")).save(2)
    assert await PickleDataset(filepath, versioned=True).load() == 2
    assert await PickleDataset(filepath, version=Version("a", None)).load() == 1


def test_repr(tmp_path: Path) -> None:
    path = tmp_path / "data.pkl"
    assert repr(PickleDataset(path)) == f"PickleDataset(filepath='{path}', backend='pickle')"
