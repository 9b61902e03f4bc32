"""MemoryDataset: copy modes protect (or share) the stored data, the mode inferred from the
data as Kedro does when none is given; errors name the problem."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeloop import Pipeline, SequentialRunner, node
from pipeloop.datasets import DataCatalog, MemoryDataset
from pipeloop.datasets.memory import infer_copy_mode
from pipeloop.errors import DatasetError

json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner,
                                                                max_size=4),
    max_leaves=12,
).filter(lambda value: value is not None)


def nested() -> dict[str, list[int]]:
    return {"values": [1, 2, 3]}


async def test_default_deepcopy_load_mutation_does_not_reach_stored_data() -> None:
    dataset = MemoryDataset()
    await dataset.save(nested())
    loaded = await dataset.load()
    loaded["values"].append(4)
    loaded["extra"] = True
    assert await dataset.load() == nested()


async def test_default_deepcopy_saved_object_mutation_does_not_reach_stored_data() -> None:
    data = nested()
    dataset = MemoryDataset()
    await dataset.save(data)
    data["values"].clear()
    assert await dataset.load() == nested()


async def test_constructor_data_is_copied_too() -> None:
    data = nested()
    dataset = MemoryDataset(data=data)
    data["values"].append(99)
    assert await dataset.load() == nested()


async def test_explicit_deepcopy_matches_default() -> None:
    dataset = MemoryDataset(data=nested(), copy_mode="deepcopy")
    (await dataset.load())["values"].append(4)
    assert await dataset.load() == nested()


async def test_assign_shares_the_object_so_mutations_are_visible() -> None:
    data = nested()
    dataset = MemoryDataset(copy_mode="assign")
    await dataset.save(data)
    loaded = await dataset.load()
    assert loaded is data
    loaded["values"].append(4)
    assert (await dataset.load())["values"] == [1, 2, 3, 4]


async def test_copy_is_shallow_top_level_protected_nested_shared() -> None:
    dataset = MemoryDataset(data=nested(), copy_mode="copy")
    loaded = await dataset.load()
    loaded["extra"] = True  # top level: a new dict
    loaded["values"].append(4)  # nested: the same list
    assert await dataset.load() == {"values": [1, 2, 3, 4]}


async def test_invalid_copy_mode_is_an_error_naming_it() -> None:
    with pytest.raises(DatasetError, match=r"Invalid copy_mode 'deep'.*deepcopy, copy, assign"):
        MemoryDataset(copy_mode="deep")  # type: ignore[arg-type]


async def test_load_before_save_is_an_error() -> None:
    with pytest.raises(DatasetError, match="has not been saved yet"):
        await MemoryDataset().load()


async def test_saving_none_is_refused_and_keeps_previous_data() -> None:
    dataset = MemoryDataset(data=1)
    with pytest.raises(DatasetError, match="Saving 'None'"):
        await dataset.save(None)
    assert await dataset.load() == 1


async def test_exists_and_release() -> None:
    dataset = MemoryDataset()
    assert not await dataset.exists()
    await dataset.save([1])
    assert await dataset.exists()
    await dataset.release()
    assert not await dataset.exists()
    with pytest.raises(DatasetError):
        await dataset.load()


async def test_falsy_data_is_data() -> None:
    dataset = MemoryDataset(data=0)
    assert await dataset.exists()
    assert await dataset.load() == 0


def test_repr_shows_type_of_data_not_the_data() -> None:
    assert repr(MemoryDataset()) == "MemoryDataset()"
    assert repr(MemoryDataset(data={"secret": "x"})) == "MemoryDataset(data=<dict>)"


def test_not_persistent() -> None:
    assert MemoryDataset.persistent is False


# -- the copy mode inferred from the data, as Kedro does ------------------------------------


class DataFrame:
    """Stands in for a Spark DataFrame: named ``DataFrame``, and it cannot be copied (a
    Spark one holds a JVM handle)."""

    def __init__(self, rows: list[int]) -> None:
        self.rows = rows

    def __deepcopy__(self, memo: dict[int, Any]) -> DataFrame:
        raise TypeError("cannot pickle '_thread.RLock' object")

    def __copy__(self) -> DataFrame:
        raise TypeError("cannot pickle '_thread.RLock' object")


def test_inferred_modes() -> None:
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    assert infer_copy_mode(pd.DataFrame({"a": [1]})) == "copy"
    assert infer_copy_mode(np.arange(3)) == "copy"
    assert infer_copy_mode(DataFrame([1])) == "assign"
    assert infer_copy_mode({"a": [1]}) == "deepcopy"
    assert infer_copy_mode(pd.Series([1])) == "deepcopy"  # as Kedro: only DataFrames copy
    assert MemoryDataset().copy_mode is None
    assert MemoryDataset(copy_mode="copy").copy_mode == "copy"


async def test_kedro_documented_example() -> None:
    pd = pytest.importorskip("pandas")
    data = pd.DataFrame({"col1": [1, 2], "col2": [4, 5], "col3": [5, 6]})
    dataset = MemoryDataset(data=data)
    loaded_data = await dataset.load()
    assert loaded_data.equals(data)
    new_data = pd.DataFrame({"col1": [1, 2], "col2": [4, 5]})
    await dataset.save(new_data)
    reloaded_data = await dataset.load()
    assert reloaded_data.equals(new_data)


async def test_pandas_data_is_copied_not_deep_copied() -> None:
    """``DataFrame.copy()`` copies the frame but not the Python objects in its cells, which
    is what makes it cheaper than ``deepcopy``; the frame itself stays protected."""
    pd = pytest.importorskip("pandas")
    cell = [1, 2]
    frame = pd.DataFrame({"lists": [cell], "n": [1]})
    dataset = MemoryDataset(frame)
    loaded = await dataset.load()
    assert loaded is not frame
    assert loaded["lists"].iloc[0] is cell  # deepcopy would have copied the list
    loaded.loc[0, "n"] = 99
    assert (await dataset.load())["n"].iloc[0] == 1


async def test_numpy_arrays_are_copied() -> None:
    np = pytest.importorskip("numpy")
    array = np.arange(3)
    dataset = MemoryDataset()
    await dataset.save(array)
    array[0] = 99
    loaded = await dataset.load()
    assert loaded.tolist() == [0, 1, 2]
    loaded[1] = 99
    assert (await dataset.load()).tolist() == [0, 1, 2]


async def test_other_dataframes_are_shared() -> None:
    frame = DataFrame([1, 2])
    dataset = MemoryDataset(frame)
    assert await dataset.load() is frame
    with pytest.raises(DatasetError, match="cannot pickle"):
        await MemoryDataset(copy_mode="deepcopy").save(frame)


async def test_runs_hand_spark_like_dataframes_between_nodes() -> None:
    """The datasets a run makes for unregistered names infer the mode too: before, every
    hand-off deep-copied, and a Spark DataFrame could not pass between nodes."""
    frame = DataFrame([1, 2, 3])
    pipeline = Pipeline([
        node(lambda df: df, "source", "middle", name="first"),
        node(lambda df: sum(df.rows), "middle", "total", name="second"),
    ])
    catalog = DataCatalog()
    catalog["source"] = frame
    assert await SequentialRunner().run(pipeline, catalog) == {"total": 6}


@given(json_like)
async def test_inferred_mode_keeps_plain_data_isolated(data: Any) -> None:
    dataset = MemoryDataset(data)
    loaded = await dataset.load()
    assert loaded == data
    if isinstance(loaded, (list, dict)):
        loaded.clear()
        assert await dataset.load() == data
