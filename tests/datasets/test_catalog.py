"""DataCatalog: the registry, ``from_config`` with every dataset type, credentials, versions,
and one test per kind of bad configuration."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import pytest

from pipeloop.datasets import AbstractDataset, DataCatalog, LambdaDataset, MemoryDataset
from pipeloop.datasets.file import VERSION_PATTERN, Version
from pipeloop.errors import (
    ConfigError,
    DatasetAlreadyExistsError,
    DatasetError,
    DatasetNotFoundError,
    VersionError,
)

SECRET = "hunter2-very-secret"


class UserDataset(AbstractDataset):
    """A user's own dataset, configured by dotted path."""

    def __init__(self, table: str, credentials: dict[str, Any] | None = None,
                 version: Version | None = None) -> None:
        self.table = table
        self.credentials = credentials
        self.version = version
        self._rows: list[Any] = []

    def _load(self) -> list[Any]:
        return list(self._rows)

    def _save(self, data: list[Any]) -> None:
        self._rows = list(data)

    def _describe(self) -> dict[str, Any]:
        return {"table": self.table, "credentials": self.credentials}


class LeakyDataset(UserDataset):
    """Shows a copy of its password in repr, as a careless dataset might."""

    def _describe(self) -> dict[str, Any]:
        assert self.credentials is not None
        return {"table": self.table, "password": str(self.credentials["password"])}


class Touchy(AbstractDataset):
    """Rejects its arguments in ways the signature cannot tell."""

    def __init__(self, **kwargs: Any) -> None:
        if "boom" in kwargs:
            raise TypeError(f"boom is not allowed here (got {kwargs['boom']!r})")
        if "secret" in kwargs:
            raise ValueError(f"bad secret {kwargs['secret']}")

    def _load(self) -> None:
        return None

    def _save(self, data: Any) -> None:
        return None

    def _describe(self) -> dict[str, Any]:
        return {}


class NotADataset:
    def __init__(self) -> None:
        pass


HERE = __name__
CREDENTIALS = {"db": {"user": "admin", "password": SECRET}, "other": {"token": "t0k3n-abc"}}


# -- the registry ---------------------------------------------------------------------------


def test_add_list_keys_and_contains() -> None:
    catalog = DataCatalog({"b": MemoryDataset(), "a": MemoryDataset()})
    assert catalog.list() == ["b", "a"]
    assert catalog.keys() == ["b", "a"]
    assert list(catalog) == ["b", "a"]
    assert len(catalog) == 2
    assert "a" in catalog
    assert "c" not in catalog
    assert 3 not in catalog


def test_list_with_regex_and_invalid_regex() -> None:
    catalog = DataCatalog({"raw_cars": MemoryDataset(), "model": MemoryDataset()})
    assert catalog.list("^RAW") == ["raw_cars"]
    with pytest.raises(DatasetError, match="Invalid regular expression"):
        catalog.list("(")


def test_add_refuses_duplicates_and_non_datasets() -> None:
    catalog = DataCatalog({"a": MemoryDataset()})
    with pytest.raises(DatasetAlreadyExistsError, match="'a' has already been registered"):
        catalog.add("a", MemoryDataset())
    replacement = MemoryDataset()
    catalog.add("a", replacement, replace=True)
    assert catalog["a"] is replacement
    with pytest.raises(DatasetError, match="list is not a dataset"):
        catalog.add("b", [1, 2])  # type: ignore[arg-type]


def test_not_found_suggests_close_names() -> None:
    catalog = DataCatalog({"companies": MemoryDataset()})
    with pytest.raises(DatasetNotFoundError, match=r"Did you mean one of these.*companies"):
        catalog["companys"]
    with pytest.raises(KeyError):
        catalog["x"]


async def test_feed_dict_and_parameters() -> None:
    catalog = DataCatalog()
    catalog.add_feed_dict({"xs": [1, 2], "ds": MemoryDataset(data="d")})
    catalog.add_parameters({"model": {"lr": 0.1, "layers": {"n": 2}}, "seed": 7})
    assert await catalog.load("xs") == [1, 2]
    assert await catalog.load("ds") == "d"
    assert await catalog.load("params:model.lr") == 0.1
    assert await catalog.load("params:model.layers.n") == 2
    assert await catalog.load("params:model") == {"lr": 0.1, "layers": {"n": 2}}
    assert (await catalog.load("parameters"))["seed"] == 7


async def test_load_save_exists_release() -> None:
    catalog = DataCatalog({"a": MemoryDataset()})
    assert not await catalog.exists("a")
    assert not await catalog.exists("unknown")
    await catalog.save("a", 5)
    assert await catalog.exists("a")
    assert await catalog.load("a") == 5
    await catalog.release("a")
    assert not await catalog.exists("a")
    with pytest.raises(DatasetNotFoundError):
        await catalog.load("unknown")


def test_shallow_copy_is_independent_for_additions() -> None:
    catalog = DataCatalog({"a": MemoryDataset()})
    copied = catalog.shallow_copy()
    copied.add("b", MemoryDataset())
    assert copied["a"] is catalog["a"]
    assert "b" not in catalog


# -- from_config: dataset types -------------------------------------------------------------


async def test_memory_dataset_with_data_and_copy_mode() -> None:
    catalog = DataCatalog.from_config({
        "xs": {"type": "MemoryDataset", "data": [1, 2], "copy_mode": "assign"},
        "empty": {"type": "MemoryDataset"},
    })
    assert await catalog.load("xs") == [1, 2]
    assert not await catalog.exists("empty")
    assert catalog.list() == ["xs", "empty"]


async def test_user_class_by_dotted_path_with_credentials() -> None:
    catalog = DataCatalog.from_config(
        {"users": {"type": f"{HERE}.UserDataset", "table": "users", "credentials": "db"}},
        credentials=CREDENTIALS,
    )
    dataset = catalog["users"]
    assert isinstance(dataset, UserDataset)
    assert dataset.table == "users"
    assert dataset.credentials == {"user": "admin", "password": SECRET}
    await catalog.save("users", [{"id": 1}])
    assert await catalog.load("users") == [{"id": 1}]


def test_full_dotted_path_to_a_pipeloop_class() -> None:
    catalog = DataCatalog.from_config({"a": {"type": "pipeloop.datasets.memory.MemoryDataset"}})
    assert type(catalog["a"]) is MemoryDataset


def test_class_object_as_type_from_python() -> None:
    catalog = DataCatalog.from_config({"u": {"type": UserDataset, "table": "t"}})
    assert type(catalog["u"]) is UserDataset


def test_error_abstract_base_is_not_a_short_name() -> None:
    message = config_error({"a": {"type": "AbstractFileDataset", "filepath": "x"}})
    assert "unknown dataset type 'AbstractFileDataset'" in message


def test_lambda_dataset_by_short_name() -> None:
    catalog = DataCatalog.from_config({"a": {"type": "LambdaDataset", "load": None,
                                             "save": None}})
    assert type(catalog["a"]) is LambdaDataset


@pytest.mark.parametrize(
    ("type_name", "filename", "data"),
    [
        ("TextDataset", "a.txt", "hello"),
        ("JSONDataset", "a.json", {"a": [1, 2]}),
        ("YAMLDataset", "a.yml", {"a": {"b": 1}}),
        ("PickleDataset", "a.pkl", {"a": (1, 2)}),
        ("CSVDataset", "a.csv", [{"x": "1", "y": "2"}]),
    ],
)
async def test_file_datasets_round_trip(
    tmp_path: Path, type_name: str, filename: str, data: Any
) -> None:
    catalog = DataCatalog.from_config(
        {"d": {"type": type_name, "filepath": str(tmp_path / filename)}}
    )
    assert type(catalog["d"]).__name__ == type_name
    await catalog.save("d", data)
    assert (tmp_path / filename).is_file()
    assert await catalog.load("d") == data


@pytest.mark.parametrize(("type_name", "filename"), [("pandas.CSVDataset", "a.csv"),
                                                     ("pandas.ParquetDataset", "a.parquet")])
async def test_pandas_datasets_round_trip(tmp_path: Path, type_name: str, filename: str) -> None:
    pd = pytest.importorskip("pandas")
    if "Parquet" in type_name:
        pytest.importorskip("pyarrow")
    catalog = DataCatalog.from_config(
        {"d": {"type": type_name, "filepath": str(tmp_path / filename)}}
    )
    assert type(catalog["d"]).__module__.startswith("pipeloop.datasets.pandas")
    frame = pd.DataFrame({"x": [1, 2], "y": ["a", "b"]})
    await catalog.save("d", frame)
    pd.testing.assert_frame_equal(await catalog.load("d"), frame)


def test_file_dataset_arguments_reach_the_dataset(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config({
        "d": {"type": "JSONDataset", "filepath": str(tmp_path / "a.json"),
              "save_args": {"indent": 4}, "metadata": {"owner": "me"}},
    })
    dataset = catalog["d"]
    assert dataset.metadata == {"owner": "me"}  # type: ignore[attr-defined]
    assert "'indent': 4" in repr(dataset)


def test_underscore_keys_are_ignored() -> None:
    catalog = DataCatalog.from_config({
        "_defaults": {"type": "NoSuchType"},
        "_note": "a string, not an entry",
        "a": {"type": "MemoryDataset"},
    })
    assert catalog.list() == ["a"]


def test_empty_or_none_config_gives_an_empty_catalog() -> None:
    assert DataCatalog.from_config(None).list() == []
    assert DataCatalog.from_config({}).list() == []


# -- credentials ----------------------------------------------------------------------------


def test_inline_credentials_mapping_is_passed_as_is() -> None:
    catalog = DataCatalog.from_config({"u": {"type": f"{HERE}.UserDataset", "table": "t",
                                             "credentials": {"password": SECRET}}})
    dataset = catalog["u"]
    assert isinstance(dataset, UserDataset)
    assert dataset.credentials == {"password": SECRET}
    assert SECRET not in repr(catalog)


def test_credentials_never_appear_in_reprs() -> None:
    catalog = DataCatalog.from_config(
        {
            "users": {"type": f"{HERE}.UserDataset", "table": "users", "credentials": "db"},
            "leaky": {"type": f"{HERE}.LeakyDataset", "table": "t", "credentials": "db"},
        },
        credentials=CREDENTIALS,
    )
    text = repr(catalog)
    assert SECRET not in text
    assert "'password': '***'" in text
    assert "users" in text
    assert SECRET not in repr(catalog["users"])  # the dataset's own repr is masked too
    assert SECRET in repr(catalog["leaky"])  # a careless dataset leaks on its own...
    assert "password='***'" in text  # ...but not through the catalog


def test_unknown_credentials_name_is_an_error_naming_it_and_the_entry() -> None:
    with pytest.raises(ConfigError) as info:
        DataCatalog.from_config(
            {"users": {"type": f"{HERE}.UserDataset", "table": "t", "credentials": "dbb"}},
            credentials=CREDENTIALS,
        )
    message = str(info.value)
    assert "'users'" in message
    assert "credentials 'dbb'" in message
    assert "did you mean 'db'" in message
    assert SECRET not in message


def test_constructor_errors_mask_credentials_and_drop_the_unmasked_cause() -> None:
    with pytest.raises(ConfigError) as info:
        DataCatalog.from_config(
            {"t": {"type": f"{HERE}.Touchy", "secret": SECRET}},
            credentials=CREDENTIALS,
        )
    assert str(info.value) == (
        "Catalog entry 't': cannot create Touchy: ValueError: bad secret ***"
    )
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


# -- versions -------------------------------------------------------------------------------


def versioned_config(tmp_path: Path) -> dict[str, Any]:
    return {
        "a": {"type": "JSONDataset", "filepath": str(tmp_path / "a.json"), "versioned": True},
        "b": {"type": "TextDataset", "filepath": str(tmp_path / "b.txt"), "versioned": True},
        "c": {"type": "JSONDataset", "filepath": str(tmp_path / "c.json")},
        "{name}_v": {"type": "JSONDataset", "filepath": f"{tmp_path}/{{name}}.json",
                     "versioned": True},
    }


def test_versioned_entries_share_one_generated_save_version(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config(versioned_config(tmp_path))
    version_a = catalog["a"].version  # type: ignore[attr-defined]
    assert version_a.load is None
    assert VERSION_PATTERN.fullmatch(version_a.save)
    assert catalog["b"].version == version_a  # type: ignore[attr-defined]
    assert catalog["x_v"].version == version_a  # type: ignore[attr-defined]
    assert catalog["c"].version is None  # type: ignore[attr-defined]


def test_given_save_version_and_load_versions_are_used(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config(
        versioned_config(tmp_path),
        load_versions={"a": "2024-01-01T00.00.00.000Z", "x_v": "2024-02-02T00.00.00.000Z"},
        save_version="2025-01-01T00.00.00.000Z",
    )
    assert catalog["a"].version == Version(  # type: ignore[attr-defined]
        "2024-01-01T00.00.00.000Z", "2025-01-01T00.00.00.000Z"
    )
    assert catalog["b"].version == Version(None, "2025-01-01T00.00.00.000Z")  # type: ignore[attr-defined]
    assert catalog["x_v"].version.load == "2024-02-02T00.00.00.000Z"  # type: ignore[attr-defined]


async def test_versioned_save_writes_under_the_catalog_save_version(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config(versioned_config(tmp_path), save_version="v1")
    await catalog.save("a", {"x": 1})
    assert (tmp_path / "a.json" / "v1" / "a.json").is_file()
    assert await catalog.load("a") == {"x": 1}


def test_user_class_with_version_argument_can_be_versioned() -> None:
    catalog = DataCatalog.from_config(
        {"u": {"type": f"{HERE}.UserDataset", "table": "t", "versioned": True}},
        save_version="s",
    )
    assert catalog["u"].version == Version(None, "s")  # type: ignore[attr-defined]


def test_no_save_version_is_generated_without_versioned_entries(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config({"c": versioned_config(tmp_path)["c"]})
    assert catalog["c"].version is None  # type: ignore[attr-defined]


# -- bad configuration: one test per error --------------------------------------------------


def config_error(config: Any, **kwargs: Any) -> str:
    with pytest.raises(ConfigError) as info:
        DataCatalog.from_config(config, **kwargs)
    return str(info.value)


def test_error_config_not_a_mapping() -> None:
    assert "must be a mapping of dataset names" in config_error([1, 2])


def test_error_entry_not_a_mapping() -> None:
    message = config_error({"cars": "data/cars.csv"})
    assert message.startswith("Catalog entry 'cars' must be a mapping")
    assert "not str" in message


def test_error_missing_type() -> None:
    assert config_error({"cars": {"filepath": "x"}}).startswith(
        "Catalog entry 'cars' has no 'type'"
    )


def test_error_unknown_short_type_suggests_close_names() -> None:
    message = config_error({"cars": {"type": "JSONDatset", "filepath": "x"}})
    assert "Catalog entry 'cars': unknown dataset type 'JSONDatset'" in message
    assert "did you mean 'JSONDataset'" in message


def test_error_unknown_subpackage_type_suggests_close_names() -> None:
    message = config_error({"cars": {"type": "pandas.CSVDatset", "filepath": "x"}})
    assert "unknown dataset type 'pandas.CSVDatset'" in message
    assert "'pandas.CSVDataset'" in message


def test_error_unknown_dotted_type() -> None:
    message = config_error({"cars": {"type": "no_such_package.Thing"}})
    assert "Catalog entry 'cars': unknown dataset type 'no_such_package.Thing'" in message


def test_error_dotted_type_with_missing_attribute() -> None:
    message = config_error({"cars": {"type": f"{HERE}.NoSuchClass"}})
    assert f"unknown dataset type '{HERE}.NoSuchClass'" in message


def test_error_type_that_is_not_a_dataset() -> None:
    message = config_error({"cars": {"type": f"{HERE}.NotADataset"}})
    assert f"Catalog entry 'cars': type '{HERE}.NotADataset' is not a dataset" in message


def test_error_type_not_a_string() -> None:
    assert "'type' must be a class name, not 5" in config_error({"cars": {"type": 5}})


def test_error_user_module_failing_to_import_names_entry_and_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_datasets_mod.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    message = config_error({"cars": {"type": "broken_datasets_mod.CarDataset"}})
    assert "Catalog entry 'cars': cannot import the dataset type" in message
    assert "no_such_dependency_xyz" in message


def test_error_unknown_argument_names_entry_argument_and_suggestion() -> None:
    message = config_error({"cars": {"type": "JSONDataset", "filpath": "x"}})
    assert message.startswith("Catalog entry 'cars': JSONDataset has no argument 'filpath'")
    assert "did you mean 'filepath'" in message
    assert "it takes: filepath, load_args" in message


def test_error_missing_required_argument() -> None:
    message = config_error({"cars": {"type": "JSONDataset"}})
    assert message.startswith("Catalog entry 'cars': JSONDataset:")
    assert "'filepath'" in message


def test_error_type_error_from_the_constructor_names_the_entry() -> None:
    message = config_error({"t": {"type": f"{HERE}.Touchy", "boom": 1}})
    assert message == (
        "Catalog entry 't': cannot create Touchy: TypeError: boom is not allowed here (got 1)"
    )


def test_error_dataset_error_from_the_constructor_becomes_config_error() -> None:
    message = config_error({"m": {"type": "MemoryDataset", "copy_mode": "deep"}})
    assert message.startswith("Catalog entry 'm': cannot create MemoryDataset: DatasetError:")
    assert "Invalid copy_mode 'deep'" in message


def test_error_versioned_dataset_that_cannot_be() -> None:
    message = config_error({"m": {"type": "MemoryDataset", "versioned": True}})
    assert message == (
        "Catalog entry 'm': MemoryDataset does not support versioning; remove "
        "'versioned: true'."
    )


def test_error_versioned_not_a_boolean() -> None:
    message = config_error({"a": {"type": "JSONDataset", "filepath": "x", "versioned": "yes"}})
    assert "'versioned' must be true or false, not 'yes'" in message


def test_error_load_versions_name_not_in_catalog() -> None:
    message = config_error({"a": {"type": "MemoryDataset"}}, load_versions={"ghost": "v1"})
    assert message == "load_versions names the dataset 'ghost', which is not in the catalog."


def test_error_load_versions_name_not_versioned(tmp_path: Path) -> None:
    message = config_error(versioned_config(tmp_path), load_versions={"c": "v1"})
    assert "load_versions names the dataset 'c', whose catalog entry is not versioned" in message


def test_error_non_string_entry_name() -> None:
    assert "Catalog entry 3: dataset names must be strings" in config_error({3: {}})


def test_config_errors_are_not_dataset_errors() -> None:
    with pytest.raises(ConfigError) as info:
        DataCatalog.from_config({"a": {}})
    assert not isinstance(info.value, DatasetError)
    assert re.search(r"'a'", str(info.value))


# -- Kedro 1.x's catalog API ----------------------------------------------------------------


async def test_setitem_wraps_raw_data_and_adds_datasets_as_they_are(tmp_path: Path) -> None:
    """Kedro's ``__setitem__`` example, with pipeloop's pandas CSVDataset."""
    pd = pytest.importorskip("pandas")
    from pipeloop.datasets.pandas import CSVDataset

    df = pd.DataFrame({"col1": [1, 2], "col2": [4, 5], "col3": [5, 6]})
    catalog = DataCatalog()
    catalog["data_df"] = df
    assert isinstance(catalog["data_df"], MemoryDataset)
    assert (await catalog.load("data_df")).equals(df)

    csv_dataset = CSVDataset(filepath=str(tmp_path / "test.csv"))
    await csv_dataset.save(df)
    catalog["data_csv_dataset"] = csv_dataset
    assert catalog["data_csv_dataset"] is csv_dataset
    assert (await catalog.load("data_csv_dataset")).equals(df)


def test_setitem_replaces_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    catalog = DataCatalog({"a": MemoryDataset(1)})
    replacement = MemoryDataset(2)
    catalog["a"] = replacement
    assert catalog["a"] is replacement
    assert catalog.keys() == ["a"]
    assert "Replacing dataset 'a'" in caplog.text


def test_items_and_values_kedro_examples() -> None:
    example = MemoryDataset()
    catalog = DataCatalog(datasets={"example": example})
    assert catalog.values() == [example]
    assert catalog.items() == [("example", example)]
    assert dict(catalog.items()) == {"example": example}


def test_get_returns_none_or_default_for_unknown_names() -> None:
    example = MemoryDataset()
    catalog = DataCatalog(datasets={"example": example})
    assert catalog.get("example") is example
    assert catalog.get("nonexistent") is None
    fallback = MemoryDataset()
    assert catalog.get("nonexistent", fallback) is fallback
    assert "nonexistent" not in catalog


def test_get_with_fallback_to_runtime_pattern_registers_a_memory_dataset() -> None:
    catalog = DataCatalog()
    made = catalog.get("intermediate", fallback_to_runtime_pattern=True)
    assert isinstance(made, MemoryDataset)
    assert catalog["intermediate"] is made


def test_filter_kedro_examples() -> None:
    from pipeloop.datasets import JSONDataset

    class Sub(MemoryDataset):
        pass

    catalog = DataCatalog({
        "raw_cars": MemoryDataset(),
        "model_input": JSONDataset("m.json"),
        "model_train": Sub(),
        "train_data": JSONDataset("t.json"),
    })
    assert catalog.filter() == catalog.keys()
    assert catalog.filter(name_regex="raw") == ["raw_cars"]
    assert catalog.filter(name_regex=re.compile("^model_")) == ["model_input", "model_train"]
    assert catalog.filter(type_regex="json.JSONDataset") == ["model_input", "train_data"]
    assert catalog.filter(name_regex="train", type_regex="JSON") == ["train_data"]
    assert catalog.filter(by_type=MemoryDataset) == ["raw_cars"]  # exact types, as Kedro
    assert catalog.filter(name_regex="a", by_type=[MemoryDataset, Sub]) == [
        "raw_cars", "model_train"
    ]
    assert catalog.filter(name_regex="RAW") == []  # case-sensitive, as re.search
    with pytest.raises(DatasetError, match="Invalid regular expression"):
        catalog.filter(type_regex="[")


async def versioned_json(tmp_path: Path) -> DataCatalog:
    catalog = DataCatalog.from_config({
        "cars": {"type": "JSONDataset", "filepath": str(tmp_path / "cars.json"),
                 "versioned": True},
        "plain": {"type": "JSONDataset", "filepath": str(tmp_path / "plain.json")},
    }, save_version="v1")
    await catalog.save("cars", {"n": 1})
    await DataCatalog.from_config({"cars": {
        "type": "JSONDataset", "filepath": str(tmp_path / "cars.json"), "versioned": True,
    }}, save_version="v2").save("cars", {"n": 2})
    return catalog


async def test_load_a_given_version(tmp_path: Path) -> None:
    catalog = await versioned_json(tmp_path)
    assert await catalog.load("cars") == {"n": 2}
    assert await catalog.load("cars", version="v1") == {"n": 1}
    assert await catalog.load("cars", "v2") == {"n": 2}
    assert catalog["cars"].version.load is None  # type: ignore[attr-defined]


async def test_get_with_a_version_returns_a_pinned_copy(tmp_path: Path) -> None:
    catalog = await versioned_json(tmp_path)
    pinned = catalog.get("cars", version="v1")
    assert pinned is not catalog["cars"]
    assert await pinned.load() == {"n": 1}  # type: ignore[union-attr]
    older = catalog.get("cars", version=Version("v1", "v9"))
    assert older.version == Version("v1", "v9")  # type: ignore[union-attr]
    assert catalog["cars"].version == Version(None, "v1")  # type: ignore[attr-defined]


async def test_load_version_errors_name_the_dataset(tmp_path: Path) -> None:
    catalog = await versioned_json(tmp_path)
    catalog["memory"] = 1
    with pytest.raises(DatasetError, match="Cannot load version 'v1' of dataset 'plain'"):
        await catalog.load("plain", version="v1")
    with pytest.raises(DatasetError, match=r"'memory'.*not versioned"):
        await catalog.load("memory", version="v1")
    with pytest.raises(VersionError, match="Invalid load version"):
        await catalog.load("cars", version="../v1")
    with pytest.raises(VersionError) as info:
        await catalog.load("cars", version="v7")
    assert str(info.value).startswith("cars: ")


async def test_load_and_save_errors_start_with_the_entry_name() -> None:
    def broken() -> Any:
        raise OSError("disk on fire")

    catalog = DataCatalog({"cars": LambdaDataset(broken, broken), "empty": MemoryDataset()})
    with pytest.raises(DatasetError) as loading:
        await catalog.load("cars")
    assert str(loading.value).startswith("cars: Failed while loading data from dataset")
    assert "disk on fire" in str(loading.value)
    with pytest.raises(DatasetError) as saving:
        await catalog.save("cars", 1)
    assert str(saving.value).startswith("cars: Failed while saving data to dataset")
    with pytest.raises(DatasetError, match=r"^empty: Data for MemoryDataset has not been saved"):
        await catalog.load("empty")
    with pytest.raises(DatasetError, match=r"^empty: Saving 'None'"):
        await catalog.save("empty", None)


async def test_pipeloop_error_classes_keep_their_type_when_prefixed() -> None:
    class Picky(DatasetError):
        def __init__(self, code: int) -> None:
            super().__init__(f"code {code}")

    def refuse() -> Any:
        raise Picky(7)

    async def refuse_version() -> Any:
        raise VersionError("no such version")

    catalog = DataCatalog({"p": LambdaDataset(refuse, None),
                           "v": LambdaDataset(refuse_version, None)})
    with pytest.raises(DatasetError, match=r"^p: code 7$") as info:
        await catalog.load("p")
    assert type(info.value) is DatasetError  # Picky's constructor takes no message
    with pytest.raises(VersionError, match=r"^v: no such version$"):
        await catalog.load("v")


def test_from_config_takes_kedro_keyword_names(tmp_path: Path) -> None:
    entry = {"a": {"type": "JSONDataset", "filepath": str(tmp_path / "a.json"),
                   "versioned": True}}
    kedro = DataCatalog.from_config(catalog=entry, credentials={}, load_versions={"a": "v0"},
                                    save_version="v1")
    assert kedro["a"].version == Version("v0", "v1")  # type: ignore[attr-defined]
    older = DataCatalog.from_config(config=entry, save_version="v1")
    assert older["a"].version == Version(None, "v1")  # type: ignore[attr-defined]
    assert DataCatalog.from_config(entry, None, None, "v2")["a"].version.save == "v2"  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="not both"):
        DataCatalog.from_config(catalog=entry, config=entry)


class Confirmable(MemoryDataset):
    def __init__(self) -> None:
        super().__init__()
        self.confirmed: list[str] = []

    def confirm(self) -> None:
        self.confirmed.append(threading.current_thread().name)


class AsyncConfirmable(MemoryDataset):
    def __init__(self, error: Exception | None = None) -> None:
        super().__init__()
        self.confirmed = 0
        self.error = error

    async def confirm(self) -> None:
        if self.error is not None:
            raise self.error
        self.confirmed += 1


async def test_confirm_calls_the_dataset_confirm_method() -> None:
    plain, awaited = Confirmable(), AsyncConfirmable()
    catalog = DataCatalog({"plain": plain, "awaited": awaited})
    await catalog.confirm("plain")
    await catalog.confirm("awaited")
    assert len(plain.confirmed) == 1 and plain.confirmed[0] != threading.current_thread().name
    assert awaited.confirmed == 1


async def test_confirm_errors_name_the_dataset() -> None:
    catalog = DataCatalog({
        "memory": MemoryDataset(),
        "failing": AsyncConfirmable(OSError("checkpoint store down")),
        "refusing": AsyncConfirmable(DatasetError("already confirmed")),
    })
    with pytest.raises(DatasetError, match=r"Dataset 'memory' .* does not have a 'confirm'"):
        await catalog.confirm("memory")
    with pytest.raises(DatasetError, match=r"^failing: Failed while confirming") as info:
        await catalog.confirm("failing")
    assert "checkpoint store down" in str(info.value)
    with pytest.raises(DatasetError, match=r"^refusing: already confirmed$"):
        await catalog.confirm("refusing")
    with pytest.raises(DatasetNotFoundError):
        await catalog.confirm("nope")


async def test_kedro_class_example() -> None:
    catalog = DataCatalog(datasets={
        "cars": MemoryDataset(data={"type": "car", "capacity": 5}),
        "planes": MemoryDataset(data={"type": "jet", "capacity": 200}),
    })
    assert await catalog.load("cars") == {"type": "car", "capacity": 5}
    await catalog.save("planes", {"type": "propeller", "capacity": 100})
    assert await catalog.load("planes") == {"type": "propeller", "capacity": 100}


class _StandsIn(AbstractDataset):
    """A runner's kind of stand-in: holds the declared dataset, answers for it."""

    def __init__(self, dataset: AbstractDataset) -> None:
        self.stands_for = dataset

    async def _load(self) -> Any:
        return await self.stands_for.load()

    async def _save(self, data: Any) -> None:
        await self.stands_for.save(data)

    def _describe(self) -> dict[str, Any]:
        return {}


async def test_log_lines_name_the_declared_type_not_a_runners_stand_in(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalog = DataCatalog({"a": _StandsIn(MemoryDataset(1))})
    with caplog.at_level("INFO", logger="pipeloop"):
        await catalog.save("a", 2)
        assert await catalog.load("a") == 2
    assert "Saving data to `a` (MemoryDataset)..." in caplog.text
    assert "Loading data from `a` (MemoryDataset)..." in caplog.text
