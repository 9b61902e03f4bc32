"""Parsing option values: name lists, typed key=value pairs, load versions."""

from __future__ import annotations

import pytest

from pipeloop.cli.errors import UsageProblem
from pipeloop.cli.options import parse_load_versions, parse_pairs, parse_value, split_list


def test_split_list_splits_on_commas_outside_brackets() -> None:
    names = split_list(["a, f([x,y]) -> [z,w]", "g({k: v, w: 1}) ,b"])
    assert names == ["a", "f([x,y]) -> [z,w]", "g({k: v, w: 1})", "b"]


def test_split_list_drops_empty_items_and_duplicates() -> None:
    assert split_list("a,,b,a,") == ["a", "b"]
    assert split_list(None) == []
    assert split_list(()) == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3", 3), ("-2", -2), ("0.5", 0.5), ("1e3", 1000.0), (".5", 0.5),
        ("true", True), ("False", False), ("null", None), ("None", None),
        ("hello", "hello"), ("'3'", "3"), ('"true"', "true"), ("a b", "a b"),
        ("[1, 2]", [1, 2]), ("{a: 1}", {"a": 1}), ("1_000", "1_000"), ("", ""),
    ],
)
def test_parse_value_types_values_as_yaml_users_expect(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_parse_value_refuses_a_broken_list() -> None:
    with pytest.raises(UsageProblem, match=r"Cannot read '\[1,' as a list or mapping"):
        parse_value("[1,")


def test_parse_pairs_keeps_dotted_keys_and_lists() -> None:
    pairs = parse_pairs(["lr=0.1,model.depth=3", "layers=[1,2],name=x=y"], "--params", "")
    assert pairs == {"lr": 0.1, "model.depth": 3, "layers": [1, 2], "name": "x=y"}


@pytest.mark.parametrize("value", ["lr", "=1", " =1", "a=1,b"])
def test_parse_pairs_names_the_bad_item_and_shows_an_example(value: str) -> None:
    with pytest.raises(UsageProblem) as caught:
        parse_pairs(value, "--params", "lr=0.1")
    assert caught.value.exit_code == 2
    assert "Invalid value for '--params'" in caught.value.message
    assert caught.value.hint == "Separate pairs with commas, e.g. --params lr=0.1"


def test_parse_pairs_names_the_key_of_a_bad_value() -> None:
    with pytest.raises(UsageProblem, match="Invalid value for '--params' 'xs'"):
        parse_pairs("xs=[1,", "--params", "")


def test_parse_load_versions_splits_at_the_last_colon() -> None:
    versions = parse_load_versions(["model:2024-05-01T09.30.12.345Z,ns:raw:v1"])
    assert versions == {"model": "2024-05-01T09.30.12.345Z", "ns:raw": "v1"}


@pytest.mark.parametrize("value", ["model", "model:", ":v1"])
def test_parse_load_versions_refuses_items_without_name_or_version(value: str) -> None:
    with pytest.raises(UsageProblem, match="is not dataset:version"):
        parse_load_versions(value)
