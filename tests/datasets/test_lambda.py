"""LambdaDataset: the user's callables, plain (in a worker thread) or ``async def``."""

from __future__ import annotations

import functools
import threading
from typing import Any

import pytest

from pipeloop.datasets import LambdaDataset
from pipeloop.errors import DatasetError


async def test_sync_load_and_save_run_in_a_worker_thread() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []
    store: list[Any] = []

    def load() -> str:
        threads.append(threading.get_ident())
        return "loaded"

    def save(data: Any) -> None:
        threads.append(threading.get_ident())
        store.append(data)

    dataset = LambdaDataset(load, save)
    assert await dataset.load() == "loaded"
    await dataset.save(42)
    assert store == [42]
    assert len(threads) == 2
    assert loop_thread not in threads


async def test_async_callables_are_awaited_on_the_loop() -> None:
    loop_thread = threading.get_ident()
    seen: dict[str, Any] = {}

    async def load() -> str:
        seen["load_thread"] = threading.get_ident()
        return "async data"

    async def save(data: Any) -> None:
        seen["saved"] = data

    async def exists() -> bool:
        return "saved" in seen

    async def release() -> None:
        seen["released"] = True

    dataset = LambdaDataset(load, save, exists=exists, release=release)
    assert not await dataset.exists()
    assert await dataset.load() == "async data"
    assert seen["load_thread"] == loop_thread
    await dataset.save([1, 2])
    assert seen["saved"] == [1, 2]
    assert await dataset.exists()
    await dataset.release()
    assert seen["released"] is True


async def test_sync_exists_and_release() -> None:
    calls: list[str] = []
    dataset = LambdaDataset(
        None,
        None,
        exists=lambda: calls.append("exists") or True,
        release=lambda: calls.append("release"),
    )
    assert await dataset.exists() is True
    await dataset.release()
    assert calls == ["exists", "release"]


async def test_exists_without_function_is_false_and_release_is_a_no_op() -> None:
    dataset = LambdaDataset(lambda: 1, None)
    assert await dataset.exists() is False
    await dataset.release()  # nothing to call, no error
    assert await dataset.load() == 1


def read_rows() -> list[int]:
    return [1]


def write_rows(data: Any) -> None:
    return None


async def test_missing_load_is_an_error_naming_the_dataset() -> None:
    dataset = LambdaDataset(None, write_rows)
    with pytest.raises(DatasetError) as info:
        await dataset.load()
    message = str(info.value)
    assert "no 'load' function" in message
    assert "LambdaDataset(save=" in message
    assert "write_rows" in message


async def test_missing_save_is_an_error_naming_the_dataset() -> None:
    dataset = LambdaDataset(read_rows, None)
    with pytest.raises(DatasetError) as info:
        await dataset.save([1])
    message = str(info.value)
    assert "no 'save' function" in message
    assert "read_rows" in message


@pytest.mark.parametrize("argument", ["load", "save", "exists", "release"])
def test_non_callable_argument_is_rejected(argument: str) -> None:
    kwargs: dict[str, Any] = {"load": None, "save": None, argument: "not a function"}
    with pytest.raises(DatasetError, match=f"'{argument}' must be a function, not str"):
        LambdaDataset(**kwargs)


async def test_failing_load_is_wrapped_with_the_dataset_and_cause() -> None:
    def broken() -> None:
        raise ValueError("disk on fire")

    dataset = LambdaDataset(broken, None)
    with pytest.raises(DatasetError, match="Failed while loading data from dataset") as info:
        await dataset.load()
    assert "disk on fire" in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)


async def test_failing_async_save_is_wrapped() -> None:
    async def broken(data: Any) -> None:
        raise OSError("no space")

    with pytest.raises(DatasetError, match=r"(?s)Failed while saving data.*no space"):
        await LambdaDataset(None, broken).save(1)


async def test_dataset_error_from_callable_is_not_wrapped_twice() -> None:
    def refuse() -> None:
        raise DatasetError("custom refusal")

    with pytest.raises(DatasetError) as info:
        await LambdaDataset(refuse, None).load()
    assert str(info.value) == "custom refusal"


def test_repr_names_the_callables() -> None:
    text = repr(LambdaDataset(read_rows, write_rows))
    assert text == "LambdaDataset(load='read_rows', save='write_rows')"


async def test_partials_and_async_callable_objects_are_awaited() -> None:
    loop_thread = threading.get_ident()
    saved: dict[str, Any] = {}

    async def save_as(key: str, data: Any) -> None:
        saved[key] = (data, threading.get_ident())

    class AsyncLoader:
        async def __call__(self) -> str:
            return "from object"

    dataset = LambdaDataset(AsyncLoader(), functools.partial(save_as, "k"))
    assert await dataset.load() == "from object"
    await dataset.save(3)
    assert saved["k"] == (3, loop_thread)


async def test_plain_callable_returning_a_coroutine_is_not_dropped() -> None:
    saved: list[Any] = []

    async def write(data: Any) -> None:
        saved.append(data)

    dataset = LambdaDataset(None, lambda data: write(data))
    await dataset.save("kept")
    assert saved == ["kept"]
