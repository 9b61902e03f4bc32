"""``node()`` and ``Node`` through their public API."""

from __future__ import annotations

import functools
import pickle
from typing import Any

import pytest

from pipeloop.engine.node import Node, node
from pipeloop.errors import NodeError, NodeExitError, NodeOutputError


def identity(x: Any) -> Any:
    return x


def add(a: int, b: int) -> int:
    return a + b


def split(x: int) -> tuple[int, int]:
    return x, -x


def constant() -> int:
    return 42


async def async_add(a: int, b: int) -> int:
    return a + b


# -- inputs -----------------------------------------------------------------------------------


def test_no_inputs_calls_function_without_arguments() -> None:
    made = node(constant, None, "answer")
    assert made.inputs == []
    assert made.run() == {"answer": 42}


def test_single_input_name() -> None:
    made = node(identity, "a", "b")
    assert made.inputs == ["a"]
    assert made.run({"a": 7}) == {"b": 7}


def test_list_inputs_are_passed_positionally() -> None:
    def minus(a: int, b: int) -> int:
        return a - b

    made = node(minus, ["x", "y"], "z")
    assert made.inputs == ["x", "y"]
    assert made.run({"x": 10, "y": 3}) == {"z": 7}


def test_dict_inputs_are_passed_by_keyword() -> None:
    def minus(a: int, b: int) -> int:
        return a - b

    made = node(minus, {"b": "x", "a": "y"}, "z")
    # listed in the order they bind to the function, as Kedro lists them
    assert made.inputs == ["y", "x"]
    assert made.run({"x": 10, "y": 3}) == {"z": -7}


def test_builtin_function_works_as_node() -> None:
    made = node(len, "xs", "n")
    assert made.func_name == "len"
    assert made.run({"xs": [1, 2, 3]}) == {"n": 3}


def test_parameter_inputs_are_plain_dataset_names() -> None:
    made = node(add, ["x", "params:step"], "y")
    assert made.inputs == ["x", "params:step"]
    assert made.run({"x": 1, "params:step": 2}) == {"y": 3}


def test_partial_function_is_named_after_wrapped_function() -> None:
    made = node(functools.partial(add, b=1), "a", "c")
    assert made.func_name == "add"
    assert str(made) == "add([a]) -> [c]"
    assert made.run({"a": 1}) == {"c": 2}


@pytest.mark.parametrize(
    ("inputs", "fragment"),
    [
        (5, "inputs must be None, a dataset name, a list of names or a dict, not int"),
        ({"x"}, "not set"),
        (["a", 3], "invalid dataset name 3 in its inputs"),
        ("", "invalid dataset name '' in its inputs"),
        (" a", "invalid dataset name ' a' in its inputs"),
    ],
)
def test_malformed_inputs_are_rejected_naming_node(inputs: Any, fragment: str) -> None:
    with pytest.raises(NodeError, match="Node 'identity'") as info:
        node(identity, inputs, "out")
    assert fragment in str(info.value)


def test_malformed_outputs_are_rejected() -> None:
    with pytest.raises(NodeError, match=r"outputs must be None.*not float"):
        node(identity, "a", 1.5)  # type: ignore[arg-type]
    with pytest.raises(NodeError, match="keys of its outputs dict must be strings"):
        node(identity, "a", {1: "b"})  # type: ignore[dict-item]


def test_non_callable_is_rejected() -> None:
    with pytest.raises(NodeError, match="first argument must be a function, not int"):
        node(5, "a", "b")  # type: ignore[arg-type]


# -- signature checks at creation -----------------------------------------------------------


def test_too_many_inputs_is_an_error_naming_the_node() -> None:
    with pytest.raises(NodeError, match=r"Node 'identity'.*cannot take inputs") as info:
        node(identity, ["a", "b"], "c")
    assert "too many positional arguments" in str(info.value)


def test_too_few_inputs_uses_given_name_in_message() -> None:
    with pytest.raises(NodeError, match=r"Node 'adder'.*missing a required argument: 'b'"):
        node(add, "a", "c", name="adder")


def test_unknown_keyword_input_is_an_error() -> None:
    with pytest.raises(NodeError, match="unexpected keyword argument 'c'"):
        node(add, {"a": "x", "b": "y", "c": "w"}, "z")


def test_varargs_function_accepts_any_number_of_inputs() -> None:
    def total(*values: int) -> int:
        return sum(values)

    assert node(total, ["a", "b", "c"], "s").run({"a": 1, "b": 2, "c": 3}) == {"s": 6}


# -- async detection and running ------------------------------------------------------------


class AsyncCallable:
    async def __call__(self, x: int) -> int:
        return x * 2


def test_async_detection() -> None:
    assert node(async_add, ["a", "b"], "c").is_async
    assert node(functools.partial(async_add, b=1), "a", "c").is_async
    assert node(AsyncCallable(), "a", "c").is_async
    assert not node(add, ["a", "b"], "c").is_async
    assert not node(len, "a", "c").is_async


def test_run_refuses_async_node() -> None:
    made = node(async_add, ["a", "b"], "c", name="adder")
    with pytest.raises(NodeError, match=r"Node 'adder' is async; await node\.arun"):
        made.run({"a": 1, "b": 2})


async def test_arun_awaits_async_node() -> None:
    assert await node(async_add, ["a", "b"], "c").arun({"a": 1, "b": 2}) == {"c": 3}
    assert await node(AsyncCallable(), "a", "c").arun({"a": 4}) == {"c": 8}


async def test_arun_runs_plain_node() -> None:
    assert await node(add, ["a", "b"], "c").arun({"a": 1, "b": 2}) == {"c": 3}


def test_call_returns_raw_result() -> None:
    assert node(split, "x", ["p", "n"]).call({"x": 3}) == (3, -3)


def test_user_exception_propagates_unwrapped() -> None:
    def boom(x: int) -> int:
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        node(boom, "x", "y").run({"x": 1})


# -- outputs ----------------------------------------------------------------------------------


def test_outputs_from_shapes() -> None:
    assert node(identity, "a", None).outputs_from(None) == {}
    assert node(identity, "a", "b").outputs_from([1, 2]) == {"b": [1, 2]}
    assert node(identity, "a", ["b", "c"]).outputs_from((1, 2)) == {"b": 1, "c": 2}
    assert node(identity, "a", ["b", "c"]).outputs_from([1, 2]) == {"b": 1, "c": 2}
    made = node(identity, "a", {"left": "b", "right": "c"})
    assert made.outputs == ["b", "c"]
    assert made.outputs_from({"left": 1, "right": 2}) == {"b": 1, "c": 2}


def test_list_outputs_require_a_sequence() -> None:
    made = node(identity, "a", ["b", "c"], name="n")
    with pytest.raises(NodeError, match=r"Node 'n' declares 2 outputs \['b', 'c'\] and must "
                       r"return a list or tuple of that length, but it returned int"):
        made.outputs_from(5)


def test_list_outputs_require_matching_length() -> None:
    made = node(identity, "a", ["b", "c"], name="n")
    with pytest.raises(NodeError, match=r"declares 2 outputs \['b', 'c'\] but returned 3 values"):
        made.outputs_from((1, 2, 3))


def test_dict_outputs_require_a_dict() -> None:
    made = node(identity, "a", {"k": "b"}, name="n")
    with pytest.raises(NodeError, match=r"Node 'n' declares dict outputs with keys \['k'\] and "
                       r"must return a dict, but it returned list"):
        made.outputs_from([1])


def test_dict_outputs_require_exact_keys() -> None:
    made = node(identity, "a", {"k": "b", "m": "c"}, name="n")
    with pytest.raises(NodeError, match=r"missing \['m'\], unexpected \['z'\]"):
        made.outputs_from({"k": 1, "z": 2})


def test_run_checks_the_returned_shape() -> None:
    with pytest.raises(NodeError, match="returned 1 values"):
        node(identity, "a", ["b", "c"]).run({"a": [1]})


def test_duplicate_outputs_are_rejected() -> None:
    with pytest.raises(NodeError, match="Node 'split' names the same output more than once: b"):
        node(split, "a", ["b", "b"])


def test_same_dataset_as_input_and_output_is_rejected() -> None:
    expected = r"Node 'identity' reads and writes the same dataset\(s\): a\."
    with pytest.raises(NodeError, match=expected):
        node(identity, "a", "a")


# -- options ---------------------------------------------------------------------------------


def test_invalid_options_are_rejected() -> None:
    with pytest.raises(NodeError, match="retries and retry_delay must be >= 0"):
        node(identity, "a", "b", retries=-1)
    with pytest.raises(NodeError, match="timeout must be a positive number"):
        node(identity, "a", "b", timeout=0)


# -- naming ----------------------------------------------------------------------------------


def test_str_lists_function_and_datasets() -> None:
    assert str(node(add, ["a", "b"], "c")) == "add([a,b]) -> [c]"
    assert str(node(constant, None, "c")) == "constant(None) -> [c]"
    assert str(node(identity, "a", None)) == "identity([a]) -> None"
    assert str(node(identity, "a", {"k": "b"})) == "identity([a]) -> [b]"


def test_name_is_prefixed_by_namespace() -> None:
    plain = node(add, ["a", "b"], "c")
    assert plain.name.startswith("add__")
    assert plain.short_name == "add"
    spaced = node(add, ["a", "b"], "c", namespace="ns")
    assert spaced.name == f"ns.{plain.name}"
    named = node(add, ["a", "b"], "c", name="adder", namespace="ns.inner")
    assert named.name == "ns.inner.adder"
    assert named.short_name == "adder"
    assert named.namespace == "ns.inner"


def test_repr_names_node() -> None:
    assert repr(node(add, ["a", "b"], "c", name="adder")) == "Node(add, ['a', 'b'], 'c', 'adder')"


# -- tags, equality, pickling -----------------------------------------------------------------


def test_tags_and_tag_returns_new_node() -> None:
    made = node(identity, "a", "b", tags="one")
    assert made.tags == frozenset({"one"})
    tagged = made.tag(["two", "three"])
    assert tagged.tags == frozenset({"one", "two", "three"})
    assert made.tags == frozenset({"one"})
    assert made.tag("four").tags == frozenset({"one", "four"})
    assert node(identity, "a", "b").tags == frozenset()


def test_equality_and_hash() -> None:
    first = node(add, ["a", "b"], "c", name="n")
    second = node(add, ["a", "b"], "c", name="n")
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1
    assert first != node(add, ["a", "b"], "d", name="n")
    assert first != node(add, ["b", "a"], "c", name="n")
    assert first != node(add, ["a", "b"], "c", name="other")
    assert first != node(add, ["a", "b"], "c", name="n", namespace="ns")
    assert first.__eq__("n") is NotImplemented


def test_tags_do_not_change_identity() -> None:
    made = node(add, ["a", "b"], "c", name="n")
    assert made.tag("x") == made


def test_pickle_round_trip() -> None:
    made = node(add, ["a", "b"], "c", name="n", tags="t", namespace="ns", retries=2, timeout=3.0)
    restored = pickle.loads(pickle.dumps(made))
    assert isinstance(restored, Node)
    assert restored == made
    assert hash(restored) == hash(made)
    assert restored.tags == frozenset({"t"})
    assert (restored.retries, restored.timeout, restored.namespace) == (2, 3.0, "ns")
    assert restored.run({"a": 1, "b": 2}) == {"c": 3}


# -- Kedro 1.x default names --------------------------------------------------------------------
# The expected names are what Kedro 1.7 gives the same nodes (functions defined in __main__).


def _as_if_in_main(func: Any) -> Any:
    func.__module__ = "__main__"
    return func


def test_unnamed_nodes_get_kedros_default_names() -> None:
    @_as_if_in_main
    def f(x: Any) -> Any:
        return x

    @_as_if_in_main
    def add(a: int, b: int) -> int:
        return a + b

    @_as_if_in_main
    def g() -> tuple[int, int]:
        return 1, 2

    assert node(f, "a", "b").name == "f__e3cfa66c"
    assert node(add, ["a", "b"], "c").name == "add__0b12674d"
    assert node(add, {"b": "x", "a": "y"}, "c").name == "add__568a848d"
    assert node(g, None, ["b", "c"]).name == "g__3edebd88"
    assert node(_as_if_in_main(lambda x: x), "a", "c").name == "<lambda>__a152bdab"
    assert node(len, "a", "c").name == "len__53a89541"
    assert node(f, "a", "b", namespace="ns").name == "ns.f__e3cfa66c"


def test_partials_get_kedros_default_names() -> None:
    bound = functools.partial(add, b=1)
    assert node(bound, "a", "c").name == "partial(add)__c29cfbf0"
    wrapped = functools.update_wrapper(functools.partial(add, b=1), add)
    assert node(wrapped, "a", "c").name == "partial(add)__c29cfbf0"


def test_default_name_follows_the_datasets() -> None:
    first = node(identity, "a", "b")
    assert node(identity, "a", "b").name == first.name
    assert node(identity, "a", "other").name != first.name
    assert node(identity, "other", "b").name != first.name


def test_callable_object_is_named_after_its_type() -> None:
    assert AsyncCallable.__name__ in node(AsyncCallable(), "a", "b").name


# -- partials -----------------------------------------------------------------------------------


def test_update_wrapper_partial_takes_only_unbound_arguments() -> None:
    wrapped = functools.update_wrapper(functools.partial(add, b=1), add)
    made = node(wrapped, "a", "c")
    assert made.func_name == "add"
    assert made.run({"a": 41}) == {"c": 42}
    with pytest.raises(NodeError, match="cannot take inputs"):
        node(wrapped, ["a", "b"], "c")


def test_positional_partial_leaves_the_signature() -> None:
    made = node(functools.partial(add, 40), "b", "c")
    assert made.run({"b": 2}) == {"c": 42}
    with pytest.raises(NodeError, match="too many positional arguments"):
        node(functools.partial(add, 40), ["a", "b"], "c")


# -- names, tags and namespaces are validated -----------------------------------------------------


@pytest.mark.parametrize("name", ["a,b", "a b", "a;b", "", "x/y", "né e"])
def test_invalid_node_names_are_rejected(name: str) -> None:
    with pytest.raises(NodeError, match=r"Node name .* is not valid\. It must contain only"):
        node(identity, "a", "b", name=name)


def test_valid_names_keep_kedros_characters() -> None:
    assert node(identity, "a", "b", name="clean-data.v2_1").name == "clean-data.v2_1"
    assert node(identity, "a", "b", name="données").name == "données"


@pytest.mark.parametrize("tags", ["a,b", ["ok", "not ok"], [""]])
def test_invalid_tags_are_rejected(tags: Any) -> None:
    with pytest.raises(NodeError, match=r"Node 'identity': tag .* is not valid"):
        node(identity, "a", "b", tags=tags)


def test_invalid_namespace_is_rejected() -> None:
    with pytest.raises(NodeError, match=r"namespace 'my ns' is not valid"):
        node(identity, "a", "b", namespace="my ns")


# -- outputs that would write parameters; transcoded names -----------------------------------------


@pytest.mark.parametrize("outputs", ["parameters", "params:x", ["ok", "params:a.b"]])
def test_outputs_cannot_be_parameters(outputs: Any) -> None:
    with pytest.raises(NodeError, match="Node 'identity' cannot write parameters"):
        node(identity, "a", outputs)


def test_transcoded_names_are_checked() -> None:
    with pytest.raises(NodeError, match=r"reads and writes the same dataset\(s\): ds\..*format"):
        node(identity, "ds@pandas", "ds@spark")
    with pytest.raises(NodeError, match="names the same output more than once: ds"):
        node(split, "a", ["ds@pandas", "ds@spark"])
    for bad in ("a@b@c", "ds@", "@pandas"):
        with pytest.raises(NodeError, match="a transcoded name is '<dataset>@<format>'"):
            node(identity, bad, "out")
    made = node(identity, "raw@csv", "ds@pandas")
    assert (made.inputs, made.outputs) == (["raw@csv"], ["ds@pandas"])


# -- confirms ------------------------------------------------------------------------------------


def test_confirms_are_stored_as_a_tuple() -> None:
    assert node(identity, "a", "b").confirms == ()
    assert node(identity, "a", "b", confirms="a").confirms == ("a",)
    assert node(identity, "a", "b", confirms=["x", "y"]).confirms == ("x", "y")
    made = node(identity, "a", "b", confirms="elsewhere", tags="t")
    assert made.tag("u").confirms == ("elsewhere",)
    assert pickle.loads(pickle.dumps(made)).confirms == ("elsewhere",)
    with pytest.raises(NodeError, match="invalid dataset name ' x' in its confirms"):
        node(identity, "a", "b", confirms=" x")


# -- ordering, equality and hashing --------------------------------------------------------------


def test_nodes_sort_by_name() -> None:
    items = [node(identity, "a", "b", name="zeta"), node(identity, "c", "d", name="alpha"),
             node(identity, "e", "f", name="mid")]
    assert [item.name for item in sorted(items)] == ["alpha", "mid", "zeta"]
    # nodes of the same name but different shapes still compare
    same_name = [node(identity, "a", {"k": "b"}, name="n"), node(identity, "a", ["b"], name="n"),
                 node(identity, "a", "b", name="n")]
    assert len(sorted(same_name)) == 3


def test_dict_inputs_and_outputs_compare_as_mappings() -> None:
    first = node(add, {"a": "x", "b": "y"}, {"k": "out", "m": "other"}, name="n")
    reordered = node(add, {"b": "y", "a": "x"}, {"m": "other", "k": "out"}, name="n")
    assert first == reordered
    assert hash(first) == hash(reordered)
    assert len({first, reordered}) == 1
    # the same dataset names bound to other arguments are another node
    swapped = node(add, {"a": "y", "b": "x"}, {"k": "out", "m": "other"}, name="n")
    assert first != swapped
    assert first != node(add, {"a": "x", "b": "y"}, {"k": "other", "m": "out"}, name="n")


def test_unhashable_callable_makes_a_hashable_node() -> None:
    class Adder:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self, a: int, b: int) -> int:
            return a + b

    made = node(Adder(), ["a", "b"], "c", name="n")
    assert made in {made}


# -- running: inputs checked, node(**inputs), dropped values ---------------------------------------


def test_run_names_missing_and_unexpected_inputs() -> None:
    made = node(add, ["a", "b"], "c", name="adder")
    with pytest.raises(NodeError, match=r"Node 'adder' takes inputs \['a', 'b'\]; "
                       r"missing \['b'\], unexpected \['z'\]\."):
        made.run({"a": 1, "z": 2})
    with pytest.raises(NodeError, match=r"missing \[\], unexpected \['x'\]"):
        node(constant, None, "c").run({"x": 1})
    with pytest.raises(NodeError, match="runs on a dict of dataset name -> data, not list"):
        made.run([1, 2])  # type: ignore[arg-type]


async def test_arun_checks_inputs_too() -> None:
    with pytest.raises(NodeError, match=r"missing \['b'\]"):
        await node(async_add, ["a", "b"], "c").arun({"a": 1})


async def test_calling_a_node_runs_it_on_keyword_inputs() -> None:
    assert node(add, ["a", "b"], "c")(a=1, b=2) == {"c": 3}
    assert node(add, {"a": "x", "b": "y"}, "c")(x=1, y=2) == {"c": 3}
    assert node(constant, None, "c")() == {"c": 42}
    assert await node(async_add, ["a", "b"], "c")(a=1, b=2) == {"c": 3}
    with pytest.raises(NodeError, match=r"missing \['b'\]"):
        node(add, ["a", "b"], "c")(a=1)


def test_value_returned_without_outputs_warns_that_it_is_dropped() -> None:
    made = node(identity, "a", None, name="sink")
    with pytest.warns(UserWarning, match=r"Node 'sink' returned a value of type int, but it is "
                      r"defined with outputs=None, so the value is dropped"):
        assert made.run({"a": 5}) == {}
    assert made.run({"a": None}) == {}  # None is no value: no warning (warnings are errors)


# -- generator nodes ---------------------------------------------------------------------------


def count_up(n: int) -> Any:
    yield from range(n)


def pairs(n: int) -> Any:
    for i in range(n):
        yield i, -i


async def acount_up(n: int) -> Any:
    for i in range(n):
        yield i


def test_generator_kinds() -> None:
    plain = node(count_up, "n", "out")
    assert (plain.is_generator, plain.is_async) == (True, False)
    agen = node(acount_up, "n", "out")
    assert (agen.is_generator, agen.is_async) == (True, True)
    assert node(functools.partial(count_up, 2), None, "out").is_generator
    assert not node(add, ["a", "b"], "c").is_generator
    assert not node(async_add, ["a", "b"], "c").is_generator

    class Chunker:
        def __call__(self, n: int) -> Any:
            yield from range(n)

    assert node(Chunker(), "n", "out").is_generator


def test_iter_outputs_gives_each_chunk_as_outputs() -> None:
    assert list(node(count_up, "n", "out").iter_outputs({"n": 3})) == [
        {"out": 0}, {"out": 1}, {"out": 2}
    ]
    assert list(node(pairs, "n", ["pos", "neg"]).iter_outputs({"n": 2})) == [
        {"pos": 0, "neg": 0}, {"pos": 1, "neg": -1}
    ]

    def keyed(n: int) -> Any:
        for i in range(n):
            yield {"left": i, "right": i * 10}

    made = node(keyed, "n", {"left": "l", "right": "r"})
    assert list(made(n=2)) == [{"l": 0, "r": 0}, {"l": 1, "r": 10}]


def test_iter_outputs_is_lazy_and_checks_each_chunk() -> None:
    seen: list[int] = []

    def chunks(n: int) -> Any:
        for i in range(n):
            seen.append(i)
            yield (i, i) if i < 2 else (i,)

    stream = node(chunks, "n", ["a", "b"], name="chunky").iter_outputs({"n": 5})
    assert seen == []
    assert next(stream) == {"a": 0, "b": 0}
    assert seen == [0]
    assert next(stream) == {"a": 1, "b": 1}
    with pytest.raises(NodeOutputError, match=r"Node 'chunky' declares 2 outputs .* but "
                       r"yielded 1 values"):
        next(stream)


def test_iter_outputs_checks_inputs_before_any_chunk() -> None:
    with pytest.raises(NodeError, match=r"missing \['n'\]"):
        node(count_up, "n", "out").iter_outputs({})


def test_closing_the_stream_closes_the_generator() -> None:
    closed: list[bool] = []

    def chunks() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    stream = node(chunks, None, "out").iter_outputs()
    assert next(stream) == {"out": 1}
    stream.close()  # type: ignore[attr-defined]
    assert closed == [True]


def test_generator_without_outputs_warns_once_and_still_runs() -> None:
    ran: list[int] = []

    def side_effects() -> Any:
        for i in range(3):
            ran.append(i)
            yield i

    with pytest.warns(UserWarning, match="yielded a value of type int") as record:
        assert list(node(side_effects, None, None, name="g").iter_outputs()) == [{}, {}, {}]
    assert len(record) == 1
    assert ran == [0, 1, 2]


async def test_aiter_outputs_streams_async_generator_chunks() -> None:
    made = node(acount_up, "n", "out")
    assert [chunk async for chunk in made.aiter_outputs({"n": 3})] == [
        {"out": 0}, {"out": 1}, {"out": 2}
    ]
    assert [chunk async for chunk in made(n=1)] == [{"out": 0}]


async def test_closing_the_async_stream_closes_the_generator() -> None:
    closed: list[bool] = []

    async def chunks() -> Any:
        try:
            yield 1
            yield 2
        finally:
            closed.append(True)

    stream = node(chunks, None, "out").aiter_outputs()
    assert await stream.__anext__() == {"out": 1}
    await stream.aclose()  # type: ignore[attr-defined]
    assert closed == [True]


async def test_generators_refuse_run_and_the_wrong_stream() -> None:
    plain = node(count_up, "n", "out", name="plain")
    agen = node(acount_up, "n", "out", name="agen")
    with pytest.raises(NodeError, match=r"Node 'plain' is a generator: node\.run\(\) cannot "
                       r"return its outputs at once\. Iterate node\.iter_outputs\(inputs\)"):
        plain.run({"n": 1})
    with pytest.raises(NodeError, match=r"Iterate node\.aiter_outputs\(inputs\)"):
        await agen.arun({"n": 1})
    with pytest.raises(NodeError, match="is not an async generator"):
        plain.aiter_outputs({"n": 1})
    with pytest.raises(NodeError, match="is not a plain generator"):
        agen.iter_outputs({"n": 1})
    with pytest.raises(NodeError, match=r"is not a plain generator.*call node\.run"):
        node(add, ["a", "b"], "c").iter_outputs({"a": 1, "b": 2})


def test_log_label_is_kedros_str_after_the_full_name() -> None:
    assert node(add, ["a", "b"], "c").log_label == "add([a,b]) -> [c]"
    # The namespaced name, as --nodes takes it (Kedro shows the bare name).
    assert node(add, ["a", "b"], "c", name="adder", namespace="ns").log_label == (
        "ns.adder: add([a,b]) -> [c]"
    )


# -- a node's own SystemExit / KeyboardInterrupt --------------------------------------------


def _exits(x: int) -> int:
    raise SystemExit(4)


def _interrupts(x: int) -> int:
    raise KeyboardInterrupt


async def _exits_async(x: int) -> int:
    raise SystemExit("bye")


def _exits_midway(x: int) -> Any:
    yield x
    raise SystemExit(1)


@pytest.mark.parametrize(("func", "raised"), [(_exits, "SystemExit(4)"),
                                              (_interrupts, "KeyboardInterrupt()")])
def test_a_node_raising_system_exit_or_keyboard_interrupt_fails_instead(
    func: Any, raised: str
) -> None:
    made = node(func, "x", "y", name="quits")
    with pytest.raises(NodeExitError) as caught:
        made.run({"x": 1})
    assert str(caught.value) == (f"Node 'quits' raised {raised}; a node cannot end the "
                                 "process or the run. Raise an exception to fail the node.")
    assert isinstance(caught.value.__cause__, (SystemExit, KeyboardInterrupt))
    assert isinstance(caught.value, Exception)


async def test_an_async_node_raising_system_exit_fails_instead() -> None:
    with pytest.raises(NodeExitError, match="raised SystemExit\\('bye'\\)"):
        await node(_exits_async, "x", "y", name="quits").arun({"x": 1})


def test_a_generator_node_raising_system_exit_fails_at_that_chunk() -> None:
    chunks = node(_exits_midway, "x", "y", name="quits").iter_outputs({"x": 1})
    assert next(chunks) == {"y": 1}
    with pytest.raises(NodeExitError, match="raised SystemExit\\(1\\)"):
        next(chunks)
