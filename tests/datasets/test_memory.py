"""MemoryDataset: copy modes protect (or share) the stored data; errors name the problem."""

from __future__ import annotations

import pytest

from pipeloop.datasets import MemoryDataset
from pipeloop.errors import DatasetError


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
