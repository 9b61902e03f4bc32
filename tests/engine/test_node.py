"""``node()`` and ``Node`` through their public API."""

from __future__ import annotations

import functools
import pickle
from typing import Any

import pytest

from pipeloop.engine.node import Node, node
from pipeloop.errors import NodeError


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
    assert made.inputs == ["x", "y"]
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


def test_generator_functions_are_rejected() -> None:
    def gen(x: int) -> Any:
        yield x

    async def agen(x: int) -> Any:
        yield x

    with pytest.raises(NodeError, match="Node 'gen': generator functions are not supported"):
        node(gen, "a", "b")
    with pytest.raises(NodeError, match="Node 'agen': generator functions"):
        node(agen, "a", "b")


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
    assert node(identity, "a", None).outputs_from(1) == {}
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


def test_name_defaults_to_str_and_is_prefixed_by_namespace() -> None:
    plain = node(add, ["a", "b"], "c")
    assert plain.name == "add([a,b]) -> [c]"
    assert plain.short_name == "add"
    spaced = node(add, ["a", "b"], "c", namespace="ns")
    assert spaced.name == "ns.add([a,b]) -> [c]"
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
