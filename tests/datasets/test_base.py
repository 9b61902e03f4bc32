"""AbstractDataset: custom datasets written either way Kedro documents (public ``load``/
``save`` or the ``_load``/``_save`` hooks), plain or ``async def``, hooks set on an instance,
error wrapping, and which datasets are ``instant``."""

from __future__ import annotations

import functools
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pipeloop import Pipeline, SequentialRunner, node
from pipeloop.datasets import AbstractDataset, DataCatalog, MemoryDataset
from pipeloop.errors import DatasetError


class MyOwnDataset(AbstractDataset):
    """Kedro ≥ 0.19's documented custom dataset (plain public methods), with a text file."""

    def __init__(self, filepath: str, param1: str, param2: bool = True) -> None:
        self._filepath = Path(filepath)
        self._param1 = param1
        self._param2 = param2
        self.threads: list[str] = []

    def load(self) -> str:
        self.threads.append(threading.current_thread().name)
        return self._filepath.read_text()

    def save(self, data: str) -> None:
        self.threads.append(threading.current_thread().name)
        self._filepath.write_text(data)

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"param1": self._param1, "param2": self._param2}


class AsyncPublic(AbstractDataset):
    """Public ``async def`` methods, awaited on the loop."""

    def __init__(self) -> None:
        self.data: Any = None
        self.threads: list[str] = []

    async def load(self) -> Any:
        self.threads.append(threading.current_thread().name)
        return self.data

    async def save(self, data: Any) -> None:
        self.threads.append(threading.current_thread().name)
        self.data = data

    async def exists(self) -> bool:
        return self.data is not None

    def _describe(self) -> dict[str, Any]:
        return {}


class Hooks(AbstractDataset):
    """The ``_load``/``_save`` style."""

    def __init__(self) -> None:
        self.data: Any = None

    def _load(self) -> Any:
        return self.data

    def _save(self, data: Any) -> None:
        self.data = data

    def _describe(self) -> dict[str, Any]:
        return {"kind": "hooks"}


MAIN = threading.current_thread().name


async def test_kedro_documented_dataset_round_trips_in_a_worker_thread(tmp_path: Path) -> None:
    dataset = MyOwnDataset(filepath=str(tmp_path / "my_data.txt"), param1="x")
    assert not await dataset.exists()
    await dataset.save("hello")
    assert await dataset.exists()
    assert await dataset.load() == "hello"
    assert dataset.threads and MAIN not in dataset.threads
    assert repr(dataset) == "MyOwnDataset(param1='x', param2=True)"


async def test_kedro_documented_dataset_from_catalog_config(tmp_path: Path) -> None:
    path = tmp_path / "my_data.txt"
    path.write_text("raw")
    catalog = DataCatalog.from_config({"my_dataset": {
        "type": f"{__name__}.MyOwnDataset", "filepath": str(path), "param1": "v",
    }})
    assert await catalog.load("my_dataset") == "raw"


async def test_kedro_documented_dataset_in_a_run(tmp_path: Path) -> None:
    source = tmp_path / "in.txt"
    source.write_text("abc")
    catalog = DataCatalog({
        "raw": MyOwnDataset(str(source), param1="in"),
        "upper": MyOwnDataset(str(tmp_path / "out.txt"), param1="out"),
    })
    await SequentialRunner().run(Pipeline([node(str.upper, "raw", "upper")]), catalog)
    assert (tmp_path / "out.txt").read_text() == "ABC"


async def test_async_public_methods_are_awaited_on_the_loop() -> None:
    dataset = AsyncPublic()
    assert not await dataset.exists()
    await dataset.save([1])
    assert await dataset.load() == [1]
    assert await dataset.exists()
    assert dataset.threads == [MAIN, MAIN]


async def test_public_methods_get_error_wrapping_and_refuse_none() -> None:
    class Broken(AsyncPublic):
        def load(self) -> Any:
            raise OSError("disk on fire")

    with pytest.raises(DatasetError, match="Failed while loading data from dataset Broken") as info:
        await Broken().load()
    assert isinstance(info.value.__cause__, OSError)
    assert "disk on fire" in str(info.value)
    with pytest.raises(DatasetError, match="Saving 'None'"):
        await AsyncPublic().save(None)


async def test_dataset_error_from_a_public_method_is_not_wrapped_twice() -> None:
    class Refusing(AsyncPublic):
        async def save(self, data: Any) -> None:
            raise DatasetError("no room")

    with pytest.raises(DatasetError) as info:
        await Refusing().save(1)
    assert str(info.value) == "no room"


def test_a_dataset_without_load_or_save_cannot_be_made() -> None:
    class OnlyLoad(AbstractDataset):
        def load(self) -> Any:
            return 1

        def _describe(self) -> dict[str, Any]:
            return {}

    with pytest.raises(TypeError, match="_save"):
        OnlyLoad()  # type: ignore[abstract]


async def test_hooks_style_round_trips() -> None:
    dataset = Hooks()
    await dataset.save({"a": 1})
    assert await dataset.load() == {"a": 1}


async def test_own_hook_wins_over_plain_public_method_as_in_kedro() -> None:
    class Both(Hooks):
        def load(self) -> Any:
            return "public"

        def _load(self) -> Any:
            return "hook"

    class Inherits(MyOwnDataset):
        def _load(self) -> Any:
            return "subclass hook"

    assert await Both().load() == "hook"
    assert await Inherits("unused", param1="p").load() == "subclass hook"


async def test_async_public_override_may_await_super() -> None:
    """An ``async def load`` overrides pipeloop's own method: ``super().load()`` reaches the
    hooks, so a subclass can add to what a dataset does."""

    class Doubling(MemoryDataset):
        async def load(self) -> Any:
            return 2 * await super().load()

    class Tripling(Hooks):
        async def load(self) -> Any:
            return 3 * await super().load()

        def _load(self) -> Any:
            return 5

    assert await Doubling(21).load() == 42
    assert await Tripling().load() == 15


async def test_subclass_of_a_public_method_dataset_keeps_it() -> None:
    class Child(AsyncPublic):
        pass

    child = Child()
    await child.save("x")
    assert await child.load() == "x"
    assert child.threads == [MAIN, MAIN]


# -- hooks set on an instance ----------------------------------------------------------------


async def test_async_hook_set_on_the_instance_is_awaited() -> None:
    """Before: the async function ran in a thread, its coroutine was dropped, and nothing was
    saved."""
    saved: list[Any] = []
    dataset = Hooks()

    async def write(data: Any) -> None:
        saved.append(data)

    dataset._save = write  # type: ignore[method-assign]
    await dataset.save([1, 2])
    assert saved == [[1, 2]]


async def test_partial_hooks_set_on_the_instance_work_plain_or_async() -> None:
    saved: dict[str, Any] = {}

    async def write_async(key: str, data: Any) -> None:
        saved[key] = data

    def write_plain(key: str, data: Any) -> None:
        saved[key] = (data, threading.current_thread().name)

    async_one, plain_one = Hooks(), Hooks()
    async_one._save = functools.partial(write_async, "a")  # type: ignore[method-assign]
    plain_one._save = functools.partial(write_plain, "p")  # type: ignore[method-assign]
    plain_one._load = functools.partial(dict, loaded=True)  # type: ignore[method-assign]
    await async_one.save(1)
    await plain_one.save(2)
    assert saved["a"] == 1
    assert saved["p"][0] == 2 and saved["p"][1] != MAIN
    assert await plain_one.load() == {"loaded": True}


async def test_plain_callable_returning_a_coroutine_is_awaited() -> None:
    saved: list[Any] = []

    async def write(data: Any) -> None:
        saved.append(data)

    dataset = Hooks()
    dataset._save = lambda data: write(data)  # type: ignore[method-assign]
    await dataset.save("x")
    assert saved == ["x"]


# -- instant ---------------------------------------------------------------------------------


def test_instant_is_inherited_by_async_hooks_and_lost_by_plain_ones() -> None:
    class AsyncCounting(MemoryDataset):
        async def _load(self) -> Any:
            return await super()._load()

    class PlainHook(MemoryDataset):
        def _save(self, data: Any) -> None:
            pass

    class PlainPublic(MemoryDataset):
        def load(self) -> Any:
            return 1

    class SaysSo(MemoryDataset):
        instant: ClassVar[bool] = True

        def _save(self, data: Any) -> None:
            pass

    assert MemoryDataset.instant
    assert AsyncCounting.instant
    assert not PlainHook.instant
    assert not PlainPublic.instant
    assert SaysSo.instant
    assert not MyOwnDataset.instant


def test_logger_is_the_dataset_module_logger() -> None:
    assert Hooks()._logger.name == __name__


async def test_plain_public_exists_and_release_run_in_a_worker_thread() -> None:
    threads: list[str] = []

    class Checked(Hooks):
        def exists(self) -> Any:
            threads.append(threading.current_thread().name)
            return self.data  # truthy data, not a bool: exists() still answers a bool

        def release(self) -> None:
            threads.append(threading.current_thread().name)
            self.data = None

    dataset = Checked()
    await dataset.save([1])
    assert await dataset.exists() is True
    await dataset.release()
    assert await dataset.exists() is False
    assert len(threads) == 3 and MAIN not in threads
