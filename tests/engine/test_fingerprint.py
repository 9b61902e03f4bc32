"""Fingerprints: what changes them (code, defaults, closures, parameters, inputs) and what
does not (moving code, dict order, touching a file)."""

from __future__ import annotations

import functools
import os
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pipeloop.engine.fingerprint as fp_module
from pipeloop import DataCatalog, MemoryDataset, Pipeline, node
from pipeloop.datasets import JSONDataset, TextDataset
from pipeloop.datasets.file import Version
from pipeloop.engine.fingerprint import (
    MISSING,
    MemoryHashCache,
    code_fingerprint,
    dataset_identity,
    file_digest,
    fingerprint_pipeline,
    parameter_fingerprints,
    value_fingerprint,
)


def compile_function(source: str, name: str = "f", **namespace: Any) -> Any:
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


# -- code -----------------------------------------------------------------------------------

def test_same_code_same_fingerprint_and_a_changed_body_differs() -> None:
    one = compile_function("def f(x):\n    return x + 1\n")
    same = compile_function("\n\n\ndef f(x):\n    # a comment\n    return x + 1\n")
    other = compile_function("def f(x):\n    return x + 2\n")
    assert code_fingerprint(one) == code_fingerprint(same)
    assert code_fingerprint(one) != code_fingerprint(other)


def test_defaults_closures_and_partials_count() -> None:
    one = compile_function("def f(x, k=1):\n    return x + k\n")
    two = compile_function("def f(x, k=2):\n    return x + k\n")
    assert code_fingerprint(one) != code_fingerprint(two)

    def make(step: int) -> Any:
        def f(x: int) -> int:
            return x + step
        return f

    assert code_fingerprint(make(1)) == code_fingerprint(make(1))
    assert code_fingerprint(make(1)) != code_fingerprint(make(2))
    base = compile_function("def f(x, k):\n    return x + k\n")
    assert (code_fingerprint(functools.partial(base, k=1))
            != code_fingerprint(functools.partial(base, k=2)))


def test_same_module_helpers_and_constants_count() -> None:
    source = """
        SCALE = {scale}
        def helper(x):
            return x * {factor}
        def f(x):
            return helper(x) * SCALE
    """
    base = code_fingerprint(compile_function(source.format(scale=2, factor=3)))
    assert base == code_fingerprint(compile_function(source.format(scale=2, factor=3)))
    assert base != code_fingerprint(compile_function(source.format(scale=2, factor=4)))
    assert base != code_fingerprint(compile_function(source.format(scale=5, factor=3)))


def test_callable_objects_and_builtins_have_fingerprints() -> None:
    class Scale:
        def __init__(self, by: int) -> None:
            self.by = by

        def __call__(self, x: int) -> int:
            return x * self.by

    assert code_fingerprint(Scale(2)) == code_fingerprint(Scale(2))
    assert code_fingerprint(Scale(2)) != code_fingerprint(Scale(3))
    assert code_fingerprint(len) != code_fingerprint(sum)


def test_recursive_helpers_terminate() -> None:
    f = compile_function("""
        def f(n):
            return g(n - 1) if n else 0
        def g(n):
            return f(n)
    """)
    assert code_fingerprint(f) == code_fingerprint(f)


# -- values and parameters ------------------------------------------------------------------

plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=10)


@given(plain)
def test_value_fingerprints_ignore_dict_order(value: Any) -> None:
    def reorder(item: Any) -> Any:
        if isinstance(item, dict):
            return {key: reorder(item[key]) for key in reversed(list(item))}
        if isinstance(item, list):
            return [reorder(inner) for inner in item]
        return item

    assert value_fingerprint(value) == value_fingerprint(reorder(value))


def test_value_fingerprints_tell_types_and_values_apart() -> None:
    values = [1, 1.0, "1", True, [1], (1,), {"a": 1}, {"a": 2}, {1}, None, b"1"]
    assert len({value_fingerprint(value) for value in values}) == len(values)
    assert value_fingerprint({3, 1, 2}) == value_fingerprint({1, 2, 3})


def test_parameter_leaves_are_named_by_dotted_key() -> None:
    leaves = parameter_fingerprints("params:model", {"lr": 0.1, "layers": {"n": 2}})
    assert set(leaves) == {"model.lr", "model.layers.n"}
    everything = parameter_fingerprints("parameters", {"model": {"lr": 0.1}, "seed": 1})
    assert set(everything) == {"model.lr", "seed"}
    assert parameter_fingerprints("params:seed", 1) == {"seed": value_fingerprint(1)}


# -- files and datasets ---------------------------------------------------------------------

def age(path: Path, seconds: float = 60) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_file_digest_follows_content_not_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "data.txt"
    path.write_text("abc")
    first = file_digest(path)
    age(path)
    assert file_digest(path) == first
    path.write_text("abd")
    assert file_digest(path) != first
    assert file_digest(tmp_path / "nope.txt") == MISSING


def test_settled_files_are_hashed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "data.txt"
    path.write_text("abc")
    cache = MemoryHashCache()
    calls = []
    real = fp_module._hash_file
    monkeypatch.setattr(fp_module, "_hash_file", lambda p: calls.append(p) or real(p))
    file_digest(path, cache)
    file_digest(path, cache)
    assert len(calls) == 2  # just written: its timestamp may still be shared, never cached
    # ctime cannot be set back; pretend the two seconds have passed instead
    monkeypatch.setattr(fp_module, "_RACY_SECONDS", -1.0)
    digest = file_digest(path, cache)
    assert file_digest(path, cache) == digest
    assert len(calls) == 3
    path.write_text("xyz")  # same size; mtime and ctime move
    assert file_digest(path, cache) != digest


def test_large_files_are_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 10_000)
    monkeypatch.setattr(fp_module, "_CHUNK", 1_000)
    reads: list[int] = []
    real_open = open

    class Spy:
        def __init__(self, file: Any) -> None:
            self._file = file

        def __enter__(self) -> Spy:
            return self

        def __exit__(self, *exc: object) -> None:
            self._file.close()

        def read(self, size: int = -1) -> bytes:
            reads.append(size)
            return self._file.read(size)

    monkeypatch.setattr("builtins.open", lambda *a, **k: Spy(real_open(*a, **k)))
    fp_module._hash_file(path)
    assert reads and all(size == 1_000 for size in reads)


async def test_dataset_identity(tmp_path: Path) -> None:
    text = TextDataset(tmp_path / "a.txt")
    assert await dataset_identity(text) == MISSING
    await text.save("hello")
    identity = await dataset_identity(text)
    assert identity is not None and identity.startswith("size:5:")

    versioned = JSONDataset(tmp_path / "v.json", versioned=True)
    assert await dataset_identity(versioned) == MISSING
    await versioned.save({"a": 1})
    first = await dataset_identity(versioned)
    assert first is not None and first.startswith("version:")
    await versioned.save({"a": 2})
    assert await dataset_identity(versioned) not in (first, MISSING)
    pinned = JSONDataset(tmp_path / "v.json", version=Version(first.split(":", 1)[1], None))
    assert await dataset_identity(pinned) == first

    assert await dataset_identity(MemoryDataset(1)) is None

    class Own(MemoryDataset):
        async def fingerprint(self) -> str:
            return "v7"

    assert await dataset_identity(Own()) == "own:v7"


# -- pipelines --------------------------------------------------------------------------------

def first(raw: str, lr: float) -> str:
    return raw * 2


def second(mid: str) -> str:
    return mid + "!"


def other(x: str) -> str:
    return x


async def pipeline_fingerprints(tmp_path: Path, *, raw: str = "abc", lr: float = 0.1,
                                pipe: Pipeline | None = None) -> dict[str, Any]:
    (tmp_path / "raw.txt").write_text(raw)
    catalog = DataCatalog({"raw": TextDataset(tmp_path / "raw.txt")})
    catalog.add_parameters({"model": {"lr": lr, "depth": 3}})
    pipe = pipe or Pipeline([node(first, ["raw", "params:model.lr"], "mid", name="first"),
                             node(second, "mid", "out", name="second")])
    return await fingerprint_pipeline(pipe, catalog)


async def test_changes_flow_downstream(tmp_path: Path) -> None:
    base = await pipeline_fingerprints(tmp_path)
    assert base["first"].params.keys() == {"model.lr"}
    assert base == await pipeline_fingerprints(tmp_path)
    for changed in (await pipeline_fingerprints(tmp_path, raw="abd"),
                    await pipeline_fingerprints(tmp_path, lr=0.2)):
        assert changed["first"].digest != base["first"].digest
        assert changed["second"].digest != base["second"].digest
        assert changed["second"].code == base["second"].code


async def test_a_parameter_it_does_not_read_changes_nothing(tmp_path: Path) -> None:
    catalog = DataCatalog()
    pipe = Pipeline([node(other, "params:model.lr", "out", name="n")])
    catalog.add_parameters({"model": {"lr": 1, "depth": 3}})
    before = await fingerprint_pipeline(pipe, catalog)
    catalog.add_parameters({"model": {"lr": 1, "depth": 4}})
    assert await fingerprint_pipeline(pipe, catalog) == before


async def test_unknown_raw_inputs_and_cache_false_have_no_digest() -> None:
    catalog = DataCatalog({"x": MemoryDataset("a")})
    pipe = Pipeline([node(other, "x", "y", name="a"), node(second, "y", "z", name="b")])
    prints = await fingerprint_pipeline(pipe, catalog)
    assert prints["a"].inputs == {"x": None} and prints["a"].digest is None
    assert prints["b"].digest is None

    pipe = Pipeline([node(other, "params:p", "y", name="a", cache=False, version="2"),
                     node(second, "y", "z", name="b")])
    catalog.add_parameters({"p": 1})
    prints = await fingerprint_pipeline(pipe, catalog)
    assert prints["a"].version == "2" and not prints["a"].cache
    assert prints["a"].output("y") is None
    assert prints["b"].inputs == {"y": None}


async def test_node_version_changes_the_fingerprint_and_cache_is_kept() -> None:
    catalog = DataCatalog()
    catalog.add_parameters({"p": 1})

    async def digest(**options: Any) -> str | None:
        pipe = Pipeline([node(other, "params:p", "y", name="a", **options)])
        return (await fingerprint_pipeline(pipe, catalog))["a"].digest

    assert await digest() == await digest(version=None)
    assert await digest() != await digest(version="2")
    assert await digest(version="2") == await digest(version="2")
    uncached = node(other, "params:p", "y", name="a", cache=False)
    assert uncached.cache is False and uncached.tag("t").cache is False


# -- the one-pass table -----------------------------------------------------------------------

def many(*values: Any) -> tuple[Any, ...]:
    return values, values


def more(*values: Any) -> tuple[Any, ...]:
    return (*values, 1), values


@st.composite
def random_dags(draw: st.DrawFn) -> Pipeline:
    """Nodes reading raw inputs (one without a fingerprint), parameters (nested, overlapping
    leaves) and earlier outputs; some versioned, some uncached, some with two outputs."""
    pool = ["raw", "unknown", "params:model", "params:model.lr", "parameters", "params:seed"]
    nodes = []
    for index in range(draw(st.integers(1, 12))):
        inputs = draw(st.lists(st.sampled_from(pool), min_size=0, max_size=3, unique=True))
        outputs = [f"o{index}"] + ([f"p{index}"] if draw(st.booleans()) else [])
        nodes.append(node(many if index % 2 else more, inputs or None, outputs,
                          name=f"n{index}", version=draw(st.sampled_from([None, "2"])),
                          cache=draw(st.booleans())))
        pool += outputs
    return Pipeline(nodes)


@given(random_dags())
async def test_the_table_gives_make_node_fingerprints_digests(pipe: Pipeline) -> None:
    catalog = DataCatalog({"raw": JSONDataset("/nonexistent/raw.json"),
                           "unknown": MemoryDataset(1)})
    catalog.add_parameters({"model": {"lr": 0.1, "depth": 3}, "seed": 7})
    table = await fp_module.fingerprint_table(pipe, catalog)
    assert list(table) == [item.name for item in pipe.nodes]
    produced: dict[str, str | None] = {}
    for item in pipe.nodes:
        current = table[item.name]
        expected = fp_module.make_node_fingerprint(item, current.code, current.params,
                                                   current.inputs)
        assert current == expected  # parts and digest, as the node-by-node definition
        assert {k: v for k, v in current.inputs.items() if k in produced} == {
            k: produced[k] for k in item.inputs if k in produced}
        for name in item.outputs:
            produced[name] = current.output(name)
        recorded = table.recorded_digests()[item.name]
        assert recorded == current.recorded
        if not current.cache:
            assert recorded is None
        elif current.digest is None:  # an input without a fingerprint: a partial one
            assert recorded is not None and recorded.startswith("?")
        else:
            assert recorded == current.digest
    assert dict(table.items()) == await fingerprint_pipeline(pipe, catalog)


async def test_the_table_makes_node_fingerprints_only_when_asked() -> None:
    catalog = DataCatalog()
    catalog.add_parameters({"p": 1})
    pipe = Pipeline([node(other, "params:p", "y", name="a"), node(second, "y", "z", name="b")])
    table = await fp_module.fingerprint_table(pipe, catalog)
    assert table.recorded_digests()["b"] is not None
    assert not table._made
    assert table["b"] is table["b"] and set(table._made) == {"b"}
