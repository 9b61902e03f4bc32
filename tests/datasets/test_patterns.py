"""Dataset factories: matching, resolution order, filling placeholders, caching, catch-all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeloop import SequentialRunner, node, pipeline
from pipeloop.datasets import DataCatalog, MemoryDataset
from pipeloop.datasets.json import JSONDataset
from pipeloop.datasets.patterns import DatasetPattern, is_pattern
from pipeloop.errors import ConfigError, DatasetNotFoundError


class Recorder(MemoryDataset):
    """A MemoryDataset that remembers the arguments it was made with."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__()
        self.kwargs = kwargs


RECORDER = f"{__name__}.Recorder"


def made_by(catalog: DataCatalog, name: str) -> dict[str, Any]:
    dataset = catalog[name]
    assert isinstance(dataset, Recorder)
    return dataset.kwargs


# -- the pattern itself ---------------------------------------------------------------------


def test_is_pattern() -> None:
    assert is_pattern("{name}_csv")
    assert not is_pattern("cars_csv")


def test_match_returns_placeholder_values_and_requires_a_full_match() -> None:
    pattern = DatasetPattern("{namespace}.{name}_csv", {})
    assert pattern.match("raw.cars_csv") == {"namespace": "raw", "name": "cars"}
    assert pattern.match("raw.cars_csv.bak") is None
    assert pattern.match("cars_csv") is None


def test_placeholders_match_as_little_as_possible_like_parse() -> None:
    assert DatasetPattern("{namespace}.{name}", {}).match("a.b.c") == {
        "namespace": "a",
        "name": "b.c",
    }


def test_placeholders_need_at_least_one_character() -> None:
    assert DatasetPattern("{name}_csv", {}).match("_csv") is None


def test_repeated_placeholder_must_match_the_same_text() -> None:
    pattern = DatasetPattern("{x}_to_{x}", {})
    assert pattern.match("a_to_a") == {"x": "a"}
    assert pattern.match("a_to_b") is None


def test_literal_characters_are_not_regex() -> None:
    pattern = DatasetPattern("{name}.csv", {})
    assert pattern.match("carsXcsv") is None
    assert pattern.match("cars.csv") == {"name": "cars"}


def test_matching_is_case_sensitive() -> None:
    assert DatasetPattern("{name}_csv", {}).match("cars_CSV") is None


def test_doubled_braces_are_literal_braces() -> None:
    pattern = DatasetPattern("{{raw}}_{name}", {"filepath": "{{x}}/{name}"})
    assert pattern.match("{raw}_cars") == {"name": "cars"}
    assert pattern.fill({"name": "cars"}) == {"filepath": "{x}/cars"}


def test_fill_replaces_placeholders_in_every_string_but_not_in_keys() -> None:
    pattern = DatasetPattern(
        "{layer}.{name}",
        {
            "type": "JSONDataset",
            "filepath": "data/{layer}/{name}.json",
            "save_args": {"{name}": "{layer}", "tags": ["{name}", 3, "x"]},
            "flag": True,
        },
    )
    assert pattern.fill({"layer": "raw", "name": "cars"}) == {
        "type": "JSONDataset",
        "filepath": "data/raw/cars.json",
        "save_args": {"{name}": "raw", "tags": ["cars", 3, "x"]},
        "flag": True,
    }


def test_fill_leaves_credentials_alone() -> None:
    pattern = DatasetPattern("{name}_db", {"credentials": {"password": "p{ss}w{rd"}})
    assert pattern.fill({"name": "x"}) == {"credentials": {"password": "p{ss}w{rd"}}


def test_entry_using_a_placeholder_the_pattern_lacks_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"'\{name\}_csv' uses the placeholder '\{nmae\}'"):
        DatasetPattern("{name}_csv", {"filepath": "data/{nmae}.csv"})


@pytest.mark.parametrize("bad", ["{name_csv", "{}_csv", "{1x}_csv", "{name:d}_csv", "a}_{b}"])
def test_malformed_pattern_is_an_error_naming_it(bad: str) -> None:
    with pytest.raises(ConfigError, match=f"Dataset factory '{bad}'"):
        DatasetPattern(bad, {})


# -- resolution order -----------------------------------------------------------------------


def test_kedro_order_example() -> None:
    patterns = ["{namespace}.int_{name}{a}", "{namespace}.{name}", "{name}",
                "{namespace}.ant_{name}{c}"]
    catalog = DataCatalog.from_config({p: {"type": "MemoryDataset"} for p in patterns})
    assert catalog.list_patterns() == [
        "{namespace}.ant_{name}{c}",
        "{namespace}.int_{name}{a}",
        "{namespace}.{name}",
        "{name}",
    ]


def test_more_literal_characters_win() -> None:
    catalog = DataCatalog.from_config({
        "{name}_csv": {"type": RECORDER, "which": "csv"},
        "{name}": {"type": RECORDER, "which": "any"},
        "{a}_{b}": {"type": RECORDER, "which": "two"},
    })
    assert made_by(catalog, "cars_csv")["which"] == "csv"


def test_more_placeholders_win_at_equal_specificity() -> None:
    # Both have one literal character and match "x_y_"; Kedro prefers more placeholders.
    catalog = DataCatalog.from_config({
        "{a}_": {"type": RECORDER, "which": "one:{a}"},
        "{a}_{b}": {"type": RECORDER, "which": "two:{a}|{b}"},
    })
    assert catalog.list_patterns() == ["{a}_{b}", "{a}_"]
    assert made_by(catalog, "x_y_")["which"] == "two:x|y_"


def test_alphabetical_order_breaks_remaining_ties() -> None:
    catalog = DataCatalog.from_config({
        "{a}x": {"type": RECORDER, "which": "suffix"},
        "x{a}": {"type": RECORDER, "which": "prefix"},
    })
    assert catalog.list_patterns() == ["x{a}", "{a}x"]
    assert made_by(catalog, "xyx")["which"] == "prefix"
    assert made_by(catalog, "yx")["which"] == "suffix"


def test_catch_all_comes_last_whatever_its_name() -> None:
    catalog = DataCatalog.from_config({
        "{a}": {"type": RECORDER, "which": "default"},
        "z{name}": {"type": RECORDER, "which": "z"},
    })
    assert catalog.list_patterns() == ["z{name}", "{a}"]
    assert made_by(catalog, "zoo")["which"] == "z"
    assert made_by(catalog, "moo")["which"] == "default"


def test_listed_entries_win_over_patterns() -> None:
    catalog = DataCatalog.from_config({
        "cars_csv": {"type": "MemoryDataset", "data": "listed"},
        "{name}_csv": {"type": RECORDER},
    })
    assert type(catalog["cars_csv"]) is MemoryDataset


def test_more_than_one_catch_all_is_an_error_naming_them() -> None:
    with pytest.raises(ConfigError, match=r"Multiple catch-all.*\{a\}, \{b\}"):
        DataCatalog.from_config({"{b}": {"type": "MemoryDataset"},
                                 "{a}": {"type": "MemoryDataset"}})


# -- through the catalog --------------------------------------------------------------------


def test_dataset_is_created_on_first_use_and_cached(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config(
        {"{name}_json": {"type": "JSONDataset", "filepath": f"{tmp_path}/{{name}}.json"}}
    )
    assert catalog.list() == []
    assert "cars_json" in catalog
    assert catalog.list() == ["cars_json"]
    dataset = catalog["cars_json"]
    assert isinstance(dataset, JSONDataset)
    assert dataset.filepath == tmp_path / "cars.json"
    assert catalog["cars_json"] is dataset
    assert catalog.get("cars_json") is dataset


async def test_load_and_save_resolve_through_patterns(tmp_path: Path) -> None:
    catalog = DataCatalog.from_config(
        {"{name}_json": {"type": "JSONDataset", "filepath": f"{tmp_path}/{{name}}.json"}}
    )
    assert not await catalog.exists("cars_json")
    await catalog.save("cars_json", {"n": 3})
    assert json.loads((tmp_path / "cars.json").read_text()) == {"n": 3}
    assert await catalog.exists("cars_json")
    assert await catalog.load("cars_json") == {"n": 3}


async def test_memory_factory_keeps_data_between_save_and_load() -> None:
    catalog = DataCatalog.from_config({"{name}_mem": {"type": "MemoryDataset"}})
    await catalog.save("a_mem", [1])
    assert await catalog.load("a_mem") == [1]


def test_name_matching_no_pattern_is_not_found() -> None:
    catalog = DataCatalog.from_config({"{name}_csv": {"type": "MemoryDataset"}})
    assert "cars_json" not in catalog
    assert catalog.get("cars_json") is None
    with pytest.raises(DatasetNotFoundError, match="'cars_json' not found"):
        catalog["cars_json"]
    assert catalog.list() == []


def test_catch_all_does_not_make_parameters() -> None:
    catalog = DataCatalog.from_config({"{default}": {"type": "MemoryDataset"}})
    catalog.add_parameters({"lr": 0.1})
    assert "anything" in catalog
    assert "params:lr" in catalog
    assert "params:missing" not in catalog
    assert "parameters" in catalog  # added explicitly
    assert DataCatalog.from_config({"{x}": {"type": "MemoryDataset"}}).get("parameters") is None


def test_shallow_copy_keeps_patterns_and_its_datasets_stay_its_own() -> None:
    catalog = DataCatalog.from_config({"{name}_mem": {"type": "MemoryDataset"}})
    copied = catalog.shallow_copy()
    assert copied.list_patterns() == ["{name}_mem"]
    assert "a_mem" in copied
    assert copied.list() == ["a_mem"]
    assert catalog.list() == []
    assert "b_mem" in catalog


def test_factory_with_a_bad_filled_type_fails_on_use_naming_dataset_and_pattern() -> None:
    catalog = DataCatalog.from_config({"{kind}:{name}": {"type": "{kind}"}})
    assert isinstance(catalog["MemoryDataset:x"], MemoryDataset)
    with pytest.raises(ConfigError) as info:
        catalog["Nope:x"]
    message = str(info.value)
    assert "'Nope:x' (from the dataset factory '{kind}:{name}')" in message
    assert "unknown dataset type 'Nope'" in message


def test_factory_entry_is_checked_when_the_catalog_is_made() -> None:
    with pytest.raises(ConfigError, match=r"'\{name\}_csv'.*no argument 'filpath'"):
        DataCatalog.from_config({"{name}_csv": {"type": "JSONDataset", "filpath": "{name}"}})
    with pytest.raises(ConfigError, match=r"'\{name\}_csv'.*unknown dataset type 'JSONDatset'"):
        DataCatalog.from_config({"{name}_csv": {"type": "JSONDatset", "filepath": "{name}"}})


async def test_catch_all_replaces_the_runners_default_memory_dataset(tmp_path: Path) -> None:
    def double(xs: list[int]) -> list[int]:
        return [2 * x for x in xs]

    def total(xs: list[int]) -> int:
        return sum(xs)

    pipe = pipeline([
        node(double, "numbers", "doubled", name="double"),
        node(total, "doubled", "total", name="total"),
    ])
    catalog = DataCatalog.from_config({
        "numbers": {"type": "MemoryDataset", "data": [1, 2, 3]},
        "{default}": {"type": "JSONDataset", "filepath": f"{tmp_path}/{{default}}.json"},
    })
    await SequentialRunner().run(pipe, catalog)
    assert json.loads((tmp_path / "doubled.json").read_text()) == [2, 4, 6]
    assert json.loads((tmp_path / "total.json").read_text()) == 12
