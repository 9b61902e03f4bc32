"""``node()`` and ``Node``: one function wired to datasets by name.

A node knows how to call its function with loaded data and how to split what the function
returned into named outputs; it knows nothing of catalogs or scheduling. Everything that can be
checked without running — the function's kind, its signature against the declared inputs,
duplicate outputs — is checked when the node is made, so a bad pipeline fails at import time
rather than an hour into a run.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from pipeloop._async import is_async_callable
from pipeloop.errors import NodeError, NodeOutputError

__all__ = ["Node", "NodeInputs", "NodeOutputs", "node"]

NodeInputs: TypeAlias = str | list[str] | dict[str, str] | None
"""``None``, one dataset name, names passed positionally, or parameter name -> dataset name."""

NodeOutputs: TypeAlias = str | list[str] | dict[str, str] | None
"""``None``, one dataset name, names for a returned sequence, or returned key -> dataset name."""

_VALID_NAME = re.compile(r"[^\s]+(?:\s+[^\s]+)*")


def _func_name(func: Callable[..., Any]) -> str:
    if isinstance(func, functools.partial):
        return _func_name(func.func)
    name = getattr(func, "__name__", None)
    return name if name else type(func).__name__


def _is_generator(func: Callable[..., Any]) -> bool:
    return inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func)


def _names(spec: NodeInputs | NodeOutputs) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, str):
        return [spec]
    if isinstance(spec, dict):
        return list(spec.values())
    # anything else is rejected with a clear message by Node._validate_spec
    return list(spec) if isinstance(spec, (list, tuple)) else []


def _rename_spec(spec: Any, mapping: Callable[[str], str]) -> Any:
    if spec is None:
        return None
    if isinstance(spec, str):
        return mapping(spec)
    if isinstance(spec, dict):
        return {key: mapping(value) for key, value in spec.items()}
    return [mapping(name) for name in spec]


def _spec_str(names: list[str]) -> str:
    return "[" + ",".join(names) + "]" if names else "None"


class Node:
    """A function, the datasets it reads and writes, and how to run it.

    Made with :func:`node`; immutable once made (the ``_copy``/``tag`` methods return new
    nodes). Two nodes are equal when they have the same function, datasets and name.
    """

    __slots__ = (
        "_hash",
        "_inputs_spec",
        "_key",
        "_name",
        "_outputs_spec",
        "func",
        "inputs",
        "is_async",
        "namespace",
        "outputs",
        "retries",
        "retry_delay",
        "retry_on",
        "tags",
        "timeout",
    )

    func: Callable[..., Any]
    inputs: list[str]
    outputs: list[str]
    tags: frozenset[str]
    namespace: str | None
    is_async: bool
    retries: int
    retry_delay: float
    retry_on: tuple[type[BaseException], ...]
    timeout: float | None

    def __init__(
        self,
        func: Callable[..., Any],
        inputs: NodeInputs,
        outputs: NodeOutputs,
        *,
        name: str | None = None,
        tags: str | Iterable[str] | None = None,
        namespace: str | None = None,
        retries: int = 0,
        retry_delay: float = 0.0,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
        timeout: float | None = None,
    ) -> None:
        self.func = func
        self._inputs_spec = inputs
        self._outputs_spec = outputs
        self._name = name
        self.namespace = namespace
        self.tags = frozenset([tags] if isinstance(tags, str) else tags or ())
        self.inputs = _names(inputs)
        self.outputs = _names(outputs)
        self.is_async = is_async_callable(func)
        self.retries = retries
        self.retry_delay = retry_delay
        self.retry_on = tuple(retry_on)
        self.timeout = timeout
        self._validate()
        self._key = (self.func, tuple(self.inputs), tuple(self.outputs), self.name)
        self._hash = hash(self._key)

    # -- checks made when the node is created -------------------------------------------

    def _validate(self) -> None:
        label = self._name or _func_name(self.func)
        if not callable(self.func):
            raise NodeError(f"Node '{label}': the first argument must be a function, "
                            f"not {type(self.func).__name__}.")
        if _is_generator(self.func):
            raise NodeError(
                f"Node '{label}': generator functions are not supported as nodes yet; "
                "return a value (or a list/dict of values) instead of yielding."
            )
        for kind, spec in (("inputs", self._inputs_spec), ("outputs", self._outputs_spec)):
            self._validate_spec(label, kind, spec)
        self._validate_outputs(label)
        self._validate_options(label)
        self._validate_signature(label)

    @staticmethod
    def _validate_spec(label: str, kind: str, spec: Any) -> None:
        if spec is None or isinstance(spec, str):
            names = [] if spec is None else [spec]
        elif isinstance(spec, dict):
            names = list(spec.values())
            if not all(isinstance(key, str) for key in spec):
                raise NodeError(f"Node '{label}': the keys of its {kind} dict must be strings.")
        elif isinstance(spec, (list, tuple)):
            names = list(spec)
        else:
            raise NodeError(
                f"Node '{label}': {kind} must be None, a dataset name, a list of names or a "
                f"dict, not {type(spec).__name__}."
            )
        for name in names:
            if not isinstance(name, str) or not _VALID_NAME.fullmatch(name):
                raise NodeError(f"Node '{label}': invalid dataset name {name!r} in its {kind}.")

    def _validate_outputs(self, label: str) -> None:
        duplicates = sorted({name for name in self.outputs if self.outputs.count(name) > 1})
        if duplicates:
            raise NodeError(f"Node '{label}' names the same output more than once: "
                            f"{', '.join(duplicates)}.")
        both = sorted(set(self.inputs) & set(self.outputs))
        if both:
            raise NodeError(f"Node '{label}' reads and writes the same dataset(s): "
                            f"{', '.join(both)}. A node cannot overwrite its own input.")

    def _validate_options(self, label: str) -> None:
        if self.retries < 0 or self.retry_delay < 0:
            raise NodeError(f"Node '{label}': retries and retry_delay must be >= 0.")
        if self.timeout is not None and self.timeout <= 0:
            raise NodeError(f"Node '{label}': timeout must be a positive number of seconds.")

    def _validate_signature(self, label: str) -> None:
        try:
            signature = inspect.signature(self.func)
        except (TypeError, ValueError):
            return  # some builtins have no introspectable signature; trust the user
        try:
            if isinstance(self._inputs_spec, dict):
                signature.bind(**dict.fromkeys(self._inputs_spec))
            else:
                signature.bind(*self.inputs)
        except TypeError as exc:
            raise NodeError(
                f"Node '{label}': function {_func_name(self.func)}{signature} cannot take "
                f"inputs {self._inputs_spec!r}: {exc}."
            ) from None

    # -- identity ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The node's name, prefixed with its namespace; ``str(node)`` when none was given."""
        base = self._name or str(self)
        return f"{self.namespace}.{base}" if self.namespace else base

    @property
    def short_name(self) -> str:
        """A readable name for logs: the given name, or the function's name."""
        return self._name or _func_name(self.func)

    @property
    def func_name(self) -> str:
        """The function's name (of the wrapped function, for partials)."""
        return _func_name(self.func)

    def __str__(self) -> str:
        return f"{_func_name(self.func)}({_spec_str(self.inputs)}) -> {_spec_str(self.outputs)}"

    def __repr__(self) -> str:
        return (f"Node({_func_name(self.func)}, {self._inputs_spec!r}, {self._outputs_spec!r}, "
                f"{self.name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return self._hash

    def __getstate__(self) -> dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__ if slot not in
                ("_key", "_hash")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for slot, value in state.items():
            object.__setattr__(self, slot, value)
        self._key = (self.func, tuple(self.inputs), tuple(self.outputs), self.name)
        self._hash = hash(self._key)

    # -- derived nodes ------------------------------------------------------------------------

    def _copy(self, **overrides: Any) -> Node:
        """A new node with some constructor arguments replaced."""
        arguments: dict[str, Any] = {
            "func": self.func,
            "inputs": self._inputs_spec,
            "outputs": self._outputs_spec,
            "name": self._name,
            "tags": self.tags,
            "namespace": self.namespace,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "retry_on": self.retry_on,
            "timeout": self.timeout,
        }
        arguments.update(overrides)
        return Node(**arguments)

    def _renamed(self, mapping: Callable[[str], str], namespace: str | None) -> Node:
        """A new node whose dataset names pass through ``mapping``, in ``namespace``."""
        return self._copy(
            inputs=_rename_spec(self._inputs_spec, mapping),
            outputs=_rename_spec(self._outputs_spec, mapping),
            namespace=namespace,
        )

    def tag(self, tags: str | Iterable[str]) -> Node:
        """A copy of this node with ``tags`` added."""
        extra = [tags] if isinstance(tags, str) else list(tags)
        return self._copy(tags=self.tags | set(extra))

    # -- running ------------------------------------------------------------------------------

    def _arguments(self, inputs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        spec = self._inputs_spec
        if isinstance(spec, dict):
            return [], {param: inputs[dataset] for param, dataset in spec.items()}
        return [inputs[name] for name in self.inputs], {}

    def call(self, inputs: Mapping[str, Any]) -> Any:
        """Call the function with ``inputs`` (dataset name -> data); return what it returns
        (for an ``async def`` function, the coroutine)."""
        args, kwargs = self._arguments(inputs)
        return self.func(*args, **kwargs)

    def outputs_from(self, result: Any) -> dict[str, Any]:
        """Split a return value into ``{output dataset name: data}``.

        Raises:
            NodeOutputError: the value does not have the shape the outputs declare.
        """
        spec = self._outputs_spec
        if spec is None:
            return {}
        if isinstance(spec, str):
            return {spec: result}
        if isinstance(spec, dict):
            return self._outputs_from_dict(spec, result)
        if not isinstance(result, (list, tuple)):
            raise NodeOutputError(
                f"Node '{self.name}' declares {len(spec)} outputs {list(spec)} and must "
                f"return a list or tuple of that length, but it returned "
                f"{type(result).__name__}."
            )
        if len(result) != len(spec):
            raise NodeOutputError(
                f"Node '{self.name}' declares {len(spec)} outputs {list(spec)} but returned "
                f"{len(result)} values."
            )
        return dict(zip(spec, result, strict=True))

    def _outputs_from_dict(self, spec: dict[str, str], result: Any) -> dict[str, Any]:
        if not isinstance(result, dict):
            raise NodeOutputError(
                f"Node '{self.name}' declares dict outputs with keys {sorted(spec)} and must "
                f"return a dict, but it returned {type(result).__name__}."
            )
        missing = sorted(set(spec) - set(result))
        extra = sorted(set(result) - set(spec))
        if missing or extra:
            raise NodeOutputError(
                f"Node '{self.name}' must return a dict with keys {sorted(spec)}; "
                f"missing {missing}, unexpected {extra}."
            )
        return {dataset: result[key] for key, dataset in spec.items()}

    def run(self, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a plain function on ``inputs`` and return its named outputs.

        Raises:
            NodeError: the function is ``async def`` (use :meth:`arun`) or returned the
                wrong shape.
        """
        if self.is_async:
            raise NodeError(f"Node '{self.name}' is async; await node.arun(inputs) instead.")
        return self.outputs_from(self.call(inputs or {}))

    async def arun(self, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run the function on ``inputs`` (awaiting it if ``async def``) on the current
        thread, and return its named outputs."""
        result = self.call(inputs or {})
        if self.is_async:
            result = await result
        return self.outputs_from(result)


def node(
    func: Callable[..., Any],
    inputs: NodeInputs,
    outputs: NodeOutputs,
    *,
    name: str | None = None,
    tags: str | Iterable[str] | None = None,
    namespace: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    timeout: float | None = None,
) -> Node:
    """Make a :class:`Node`.

    Args:
        func: a plain or ``async def`` function (not a generator).
        inputs: ``None``, a dataset name, a list of names (passed positionally) or a dict
            of parameter name to dataset name (passed by keyword). ``params:x`` names a
            parameter.
        outputs: ``None``, a name, a list of names (the function returns a list or tuple of
            that length) or a dict of returned key to dataset name.
        name: a name unique in its pipeline; defaults to ``str(node)``.
        tags: tags to select the node by.
        namespace: prefixes the node's name (``namespace.name``).
        retries: how many times to retry a failing call (0: fail at once).
        retry_delay: seconds before the first retry; doubled after each one.
        retry_on: exception types that are retried; others fail at once.
        timeout: seconds a call may take before it fails with ``NodeTimeoutError``.

    Raises:
        NodeError: the function cannot take the inputs, is a generator, or the inputs or
            outputs are malformed; the message names the node.
    """
    return Node(func, inputs, outputs, name=name, tags=tags, namespace=namespace,
                retries=retries, retry_delay=retry_delay, retry_on=retry_on, timeout=timeout)
