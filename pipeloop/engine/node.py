"""``node()`` and ``Node``: one function wired to datasets by name.

A node knows how to call its function with loaded data and how to split what the function
returned (or, for a generator, each chunk it yielded) into named outputs; it knows nothing of
catalogs or scheduling. Everything that can be checked without running — the function's kind,
its signature against the declared inputs, names, duplicate outputs — is checked when the node
is made, so a bad pipeline fails at import time rather than an hour into a run.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from typing import Any, TypeAlias

from pipeloop._async import is_async_callable
from pipeloop.engine.callables import default_name, func_name, generator_kind, same_function
from pipeloop.engine.callables import signature as callable_signature
from pipeloop.engine.inline import NodeInterrupted
from pipeloop.engine.transcoding import TRANSCODING_SEPARATOR, strip_transcoding
from pipeloop.errors import NodeError, NodeExitError, NodeOutputError, NodeSignatureError

__all__ = ["Node", "NodeInputs", "NodeOutputs", "node"]

NodeInputs: TypeAlias = str | list[str] | dict[str, str] | None
"""``None``, one dataset name, names passed positionally, or parameter name -> dataset name."""

NodeOutputs: TypeAlias = str | list[str] | dict[str, str] | None
"""``None``, one dataset name, names for a returned sequence, or returned key -> dataset name."""

_VALID_DATASET = re.compile(r"[^\s]+(?:\s+[^\s]+)*")
# Node names, tags and namespaces travel through comma-separated CLI options (--nodes,
# --tags, --from-nodes and the resume advice), so they keep to Kedro's characters.
_VALID_LABEL = re.compile(r"[\w.-]+")
_LABEL_RULE = "It must contain only letters, digits, hyphens, underscores and/or full stops."
_PARAMS_PREFIX = "params:"
_ALL_PARAMETERS = "parameters"


def _names(spec: NodeInputs | NodeOutputs) -> list[str]:
    """The dataset names of an inputs or outputs spec, interned: every run looks them up in
    dicts many times per node, and an interned name compares by identity."""
    if spec is None:
        return []
    if isinstance(spec, str):
        return [_interned(spec)]
    if isinstance(spec, dict):
        return [_interned(name) for name in spec.values()]
    # anything else is rejected with a clear message by Node._validate_spec
    return [_interned(name) for name in spec] if isinstance(spec, (list, tuple)) else []


def _interned(name: Any) -> Any:
    return sys.intern(name) if type(name) is str else name


def _rename_spec(spec: Any, mapping: Callable[[str], str]) -> Any:
    if spec is None:
        return None
    if isinstance(spec, str):
        return mapping(spec)
    if isinstance(spec, dict):
        return {key: mapping(value) for key, value in spec.items()}
    return [mapping(name) for name in spec]


def _spec_key(spec: Any, names: list[str], *, one_is_list: bool) -> tuple[Any, ...]:
    """A hashable, orderable form of an inputs or outputs spec; dicts compare as mappings."""
    if isinstance(spec, dict):
        return ("dict", tuple(sorted(spec.items())))
    if spec is None:
        return ("list", ())
    if isinstance(spec, str) and not one_is_list:
        return ("one", spec)
    return ("list", tuple(names))


def _spec_str(names: list[str]) -> str:
    return "[" + ",".join(names) + "]" if names else "None"


def _as_names(value: str | Iterable[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(dict.fromkeys(value))


class Node:
    """A function, the datasets it reads and writes, and how to run it.

    Made with :func:`node`; immutable once made (the ``_copy``/``tag`` methods return new
    nodes). As in Kedro, two nodes are equal when they have the same name, inputs and outputs
    (dict inputs and outputs compared as mappings); nodes sort by the same key.
    """

    __slots__ = (
        "_hash",
        "_input_names",
        "_inputs_spec",
        "_key",
        "_name",
        "_outputs_spec",
        "cache",
        "confirms",
        "func",
        "inputs",
        "is_async",
        "is_generator",
        "name",
        "namespace",
        "outputs",
        "retries",
        "retry_delay",
        "retry_on",
        "tags",
        "timeout",
        "version",
    )

    func: Callable[..., Any]
    inputs: list[str]
    outputs: list[str]
    name: str
    """The node's name, prefixed with its namespace. Without a given name, Kedro 1.x's
    ``<function>__<8 hex digits>`` (a hash of the function and its datasets)."""
    confirms: tuple[str, ...]
    """Datasets whose ``confirm()`` the run calls after the node succeeds."""
    tags: frozenset[str]
    namespace: str | None
    is_async: bool
    """The function runs on the event loop: ``async def``, or an async generator."""
    is_generator: bool
    """The function yields chunks (see :meth:`iter_outputs` and :meth:`aiter_outputs`)."""
    retries: int
    retry_delay: float
    retry_on: tuple[type[BaseException], ...]
    timeout: float | None
    version: str | None
    """What the code fingerprint cannot see (a library the node calls changed): bump it and
    ``run --changed`` treats the node's code as changed."""
    cache: bool
    """``False``: ``run --changed`` always runs the node (it reads the clock, the network)."""

    def __init__(
        self,
        func: Callable[..., Any],
        inputs: NodeInputs,
        outputs: NodeOutputs,
        *,
        name: str | None = None,
        tags: str | Iterable[str] | None = None,
        confirms: str | Iterable[str] | None = None,
        namespace: str | None = None,
        retries: int = 0,
        retry_delay: float = 0.0,
        retry_on: tuple[type[BaseException], ...] = (Exception,),
        timeout: float | None = None,
        version: str | None = None,
        cache: bool = True,
    ) -> None:
        self.func = func
        self.version = None if version is None else str(version)
        self.cache = bool(cache)
        self._inputs_spec = inputs
        self._outputs_spec = outputs
        self._name = name
        self.namespace = namespace
        self.tags = frozenset(_as_names(tags))
        self.confirms = _as_names(confirms)
        self.inputs = _names(inputs)
        self.outputs = _names(outputs)
        kind = generator_kind(func) if callable(func) else None
        self.is_generator = kind is not None
        self.is_async = kind == "async" or (kind is None and is_async_callable(func))
        self.retries = retries
        self.retry_delay = retry_delay
        self.retry_on = tuple(retry_on)
        self.timeout = timeout
        self._validate()
        self._set_identity()

    def _set_identity(self) -> None:
        base = self._name or default_name(self.func, self.inputs, self.outputs)
        self.name = sys.intern(f"{self.namespace}.{base}" if self.namespace else base)
        self._key = (
            self.name,
            _spec_key(self._inputs_spec, self.inputs, one_is_list=True),
            _spec_key(self._outputs_spec, self.outputs, one_is_list=False),
        )
        self._hash = hash(self._key)
        self._input_names = frozenset(self.inputs)

    # -- checks made when the node is created -------------------------------------------

    def _validate(self) -> None:
        label = self._name or func_name(self.func)
        if not callable(self.func):
            raise NodeError(f"Node '{label}': the first argument must be a function, "
                            f"not {type(self.func).__name__}.")
        for kind, spec in (("inputs", self._inputs_spec), ("outputs", self._outputs_spec)):
            self._validate_spec(label, kind, spec)
        self._validate_spec(label, "confirms", list(self.confirms))
        self._validate_labels(label)
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
            if not isinstance(name, str) or not _VALID_DATASET.fullmatch(name):
                raise NodeError(f"Node '{label}': invalid dataset name {name!r} in its {kind}.")
            parts = name.split(TRANSCODING_SEPARATOR)
            if len(parts) > 2 or (len(parts) == 2 and not all(parts)):
                raise NodeError(
                    f"Node '{label}': invalid dataset name {name!r} in its {kind}: a "
                    f"transcoded name is '<dataset>{TRANSCODING_SEPARATOR}<format>', with one "
                    f"'{TRANSCODING_SEPARATOR}'."
                )

    def _validate_labels(self, label: str) -> None:
        if self._name is not None and not (
            isinstance(self._name, str) and _VALID_LABEL.fullmatch(self._name)
        ):
            raise NodeError(f"Node name {self._name!r} is not valid. {_LABEL_RULE}")
        if self.namespace is not None and not (
            isinstance(self.namespace, str) and _VALID_LABEL.fullmatch(self.namespace)
        ):
            raise NodeError(f"Node '{label}': namespace {self.namespace!r} is not valid. "
                            f"{_LABEL_RULE}")
        for tag in sorted(self.tags, key=str):
            if not isinstance(tag, str) or not _VALID_LABEL.fullmatch(tag):
                raise NodeError(f"Node '{label}': tag {tag!r} is not valid. {_LABEL_RULE}")

    def _validate_outputs(self, label: str) -> None:
        bases = [strip_transcoding(name) for name in self.outputs]
        duplicates = sorted({name for name in bases if bases.count(name) > 1})
        if duplicates:
            raise NodeError(f"Node '{label}' names the same output more than once: "
                            f"{', '.join(duplicates)}.")
        parameters = [name for name in self.outputs
                      if name == _ALL_PARAMETERS or name.startswith(_PARAMS_PREFIX)]
        if parameters:
            raise NodeError(
                f"Node '{label}' cannot write parameters: {', '.join(parameters)}. Parameters "
                "are read-only inputs from the configuration; give the output another name."
            )
        both = sorted({strip_transcoding(name) for name in self.inputs}
                      & {strip_transcoding(name) for name in self.outputs})
        if both:
            raise NodeError(f"Node '{label}' reads and writes the same dataset(s): "
                            f"{', '.join(both)}. A node cannot overwrite its own input, "
                            "even in another format.")

    def _validate_options(self, label: str) -> None:
        if self.retries < 0 or self.retry_delay < 0:
            raise NodeError(f"Node '{label}': retries and retry_delay must be >= 0.")
        if self.timeout is not None and self.timeout <= 0:
            raise NodeError(f"Node '{label}': timeout must be a positive number of seconds.")

    def _validate_signature(self, label: str) -> None:
        signature = callable_signature(self.func)
        if signature is None:
            return
        try:
            if isinstance(self._inputs_spec, dict):
                bound = signature.bind(**self._inputs_spec)
                # Kedro lists dict inputs in the order they bind to the function.
                self.inputs = [*bound.args, *bound.kwargs.values()]
            else:
                signature.bind(*self.inputs)
        except TypeError as exc:
            raise NodeSignatureError(
                f"Node '{label}': function {func_name(self.func)}{signature} cannot take "
                f"inputs {self._inputs_spec!r}: {exc}."
            ) from None

    # -- identity ---------------------------------------------------------------------------

    @property
    def short_name(self) -> str:
        """A readable name for logs: the given name, or the function's name."""
        return self._name or func_name(self.func)

    @property
    def func_name(self) -> str:
        """The function's name (of the wrapped function, for partials)."""
        return func_name(self.func)

    @property
    def log_label(self) -> str:
        """How Kedro's log lines show the node (``Running node: ...``): ``str(node)``,
        after ``name: `` when the node was given a name."""
        return f"{self.name}: {self}" if self._name else str(self)

    def __str__(self) -> str:
        return f"{func_name(self.func)}({_spec_str(self.inputs)}) -> {_spec_str(self.outputs)}"

    def __repr__(self) -> str:
        return (f"Node({func_name(self.func)}, {self._inputs_spec!r}, {self._outputs_spec!r}, "
                f"{self.name!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Node):
            return NotImplemented
        return self._key < other._key

    def __hash__(self) -> int:
        return self._hash

    def _same_function(self, other: Node) -> bool:
        return same_function(self.func, other.func)

    def __getstate__(self) -> dict[str, Any]:
        return {slot: getattr(self, slot) for slot in self.__slots__ if slot not in
                ("_key", "_hash", "_input_names")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for slot, value in state.items():
            object.__setattr__(self, slot, value)
        self._set_identity()

    # -- derived nodes ------------------------------------------------------------------------

    def _copy(self, **overrides: Any) -> Node:
        """A new node with some constructor arguments replaced."""
        arguments: dict[str, Any] = {
            "func": self.func,
            "inputs": self._inputs_spec,
            "outputs": self._outputs_spec,
            "name": self._name,
            "tags": self.tags,
            "confirms": self.confirms,
            "namespace": self.namespace,
            "retries": self.retries,
            "retry_delay": self.retry_delay,
            "retry_on": self.retry_on,
            "timeout": self.timeout,
            "version": self.version,
            "cache": self.cache,
        }
        arguments.update(overrides)
        return Node(**arguments)

    def _renamed(self, mapping: Callable[[str], str], namespace: str | None) -> Node:
        """A new node whose dataset names pass through ``mapping``, in ``namespace``."""
        return self._copy(
            inputs=_rename_spec(self._inputs_spec, mapping),
            outputs=_rename_spec(self._outputs_spec, mapping),
            confirms=[mapping(name) for name in self.confirms],
            namespace=namespace,
        )

    def tag(self, tags: str | Iterable[str]) -> Node:
        """A copy of this node with ``tags`` added."""
        return self._copy(tags=self.tags | set(_as_names(tags)))

    # -- running ------------------------------------------------------------------------------

    def _checked(self, inputs: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """``inputs``, once it holds exactly the node's inputs."""
        if inputs is None:
            inputs = {}
        if type(inputs) is dict and inputs.keys() == self._input_names:
            return inputs  # what the scheduler always passes: nothing more to check
        if not isinstance(inputs, Mapping):
            raise NodeError(f"Node '{self.name}' runs on a dict of dataset name -> data, "
                            f"not {type(inputs).__name__}.")
        expected = dict.fromkeys(self.inputs)
        missing = [name for name in expected if name not in inputs]
        unexpected = sorted(str(name) for name in inputs if name not in expected)
        if missing or unexpected:
            raise NodeError(
                f"Node '{self.name}' takes inputs {list(expected)}; missing {missing}, "
                f"unexpected {unexpected}."
            )
        return inputs

    def _arguments(self, inputs: Mapping[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        spec = self._inputs_spec
        if isinstance(spec, dict):
            return [], {param: inputs[dataset] for param, dataset in spec.items()}
        return [inputs[name] for name in self.inputs], {}

    def call(self, inputs: Mapping[str, Any]) -> Any:
        """Call the function with ``inputs`` (dataset name -> data); return what it returns
        (for an ``async def`` function, the coroutine; for a generator, the generator)."""
        args, kwargs = self._arguments(inputs)
        try:
            return self.func(*args, **kwargs)
        except (SystemExit, KeyboardInterrupt) as exc:
            raise self._exit_error(exc) from exc

    def _exit_error(self, exc: SystemExit | KeyboardInterrupt) -> BaseException:
        """What a node's own ``SystemExit`` or ``KeyboardInterrupt`` becomes: the node's
        failure, so that the run stops as for any failure (and the process does not exit
        from a worker thread or under the event loop). A signal's interruption stays."""
        if isinstance(exc, NodeInterrupted):
            return exc
        return NodeExitError(f"Node '{self.name}' raised {exc!r}; a node cannot end the "
                             "process or the run. Raise an exception to fail the node.")

    def outputs_from(self, result: Any) -> dict[str, Any]:
        """Split a return value (or one yielded chunk) into ``{output dataset name: data}``.

        A value returned by a node without outputs is dropped, with a ``UserWarning``.

        Raises:
            NodeOutputError: the value does not have the shape the outputs declare.
        """
        spec = self._outputs_spec
        if spec is None:
            if result is not None:
                self._warn_dropped(result)
            return {}
        if isinstance(spec, str):
            return {spec: result}
        if isinstance(spec, dict):
            return self._outputs_from_dict(spec, result)
        if not isinstance(result, (list, tuple)):
            raise NodeOutputError(
                f"Node '{self.name}' declares {len(spec)} outputs {list(spec)} and must "
                f"{self._verb} a list or tuple of that length, but it {self._verb}ed "
                f"{type(result).__name__}."
            )
        if len(result) != len(spec):
            raise NodeOutputError(
                f"Node '{self.name}' declares {len(spec)} outputs {list(spec)} but "
                f"{self._verb}ed {len(result)} values."
            )
        return dict(zip(spec, result, strict=True))

    @property
    def _verb(self) -> str:
        return "yield" if self.is_generator else "return"

    def _warn_dropped(self, result: Any) -> None:
        warnings.warn(
            f"Node '{self.name}' {self._verb}ed a value of type {type(result).__name__}, but "
            "it is defined with outputs=None, so the value is dropped. Declare outputs to "
            "keep it.",
            UserWarning,
            stacklevel=3,
        )

    def _outputs_from_dict(self, spec: dict[str, str], result: Any) -> dict[str, Any]:
        if not isinstance(result, dict):
            raise NodeOutputError(
                f"Node '{self.name}' declares dict outputs with keys {sorted(spec)} and must "
                f"{self._verb} a dict, but it {self._verb}ed {type(result).__name__}."
            )
        missing = sorted(set(spec) - set(result))
        extra = sorted(set(result) - set(spec))
        if missing or extra:
            raise NodeOutputError(
                f"Node '{self.name}' must {self._verb} a dict with keys {sorted(spec)}; "
                f"missing {missing}, unexpected {extra}."
            )
        return {dataset: result[key] for key, dataset in spec.items()}

    def run(self, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run a plain function on ``inputs`` and return its named outputs.

        Raises:
            NodeError: ``inputs`` are not exactly the node's inputs (the message names the
                missing and unexpected ones), the function is ``async def`` (use
                :meth:`arun`) or a generator (use :meth:`iter_outputs`), or it returned the
                wrong shape.
        """
        if self.is_generator:
            self._refuse_generator("run")
        if self.is_async:
            raise NodeError(f"Node '{self.name}' is async; await node.arun(inputs) instead.")
        return self.outputs_from(self.call(self._checked(inputs)))

    async def arun(self, inputs: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run the function on ``inputs`` (awaiting it if ``async def``) on the current
        thread, and return its named outputs.

        Raises:
            NodeError: as :meth:`run`; a generator node streams with :meth:`iter_outputs`
                or :meth:`aiter_outputs` instead.
        """
        if self.is_generator:
            self._refuse_generator("arun")
        result = self.call(self._checked(inputs))
        if self.is_async:
            try:
                result = await result
            except (SystemExit, KeyboardInterrupt) as exc:
                raise self._exit_error(exc) from exc
        return self.outputs_from(result)

    def _refuse_generator(self, method: str) -> None:
        streamer = "aiter_outputs" if self.is_async else "iter_outputs"
        raise NodeError(
            f"Node '{self.name}' is a generator: node.{method}() cannot return its outputs "
            f"at once. Iterate node.{streamer}(inputs), which gives one outputs dict per "
            "yielded chunk."
        )

    def iter_outputs(self, inputs: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """For a plain generator function: call it on ``inputs`` and give, for each chunk it
        yields, that chunk split into ``{output dataset name: data}`` (checked like a return
        value), so that each chunk can be saved as it comes. Each ``next()`` runs the
        function up to its next ``yield``, on the calling thread.

        Raises:
            NodeError: the node is not a plain generator, or ``inputs`` are not exactly its
                inputs (raised by this call, before any chunk); ``NodeOutputError`` (while
                iterating) for a chunk of the wrong shape.
        """
        if not self.is_generator or self.is_async:
            raise NodeError(f"Node '{self.name}' is not a plain generator function; "
                            + self._how_to_run())
        return self._split_chunks(self.call(self._checked(inputs)))

    def aiter_outputs(
        self, inputs: Mapping[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """For an async generator function: as :meth:`iter_outputs`, an async iterator.

        Close it (``contextlib.aclosing``) when stopping before the end, so the function's
        ``finally`` blocks run at once.

        Raises:
            NodeError: the node is not an async generator, or ``inputs`` are not exactly its
                inputs (raised by this call, before any chunk).
        """
        if not (self.is_generator and self.is_async):
            raise NodeError(f"Node '{self.name}' is not an async generator function; "
                            + self._how_to_run())
        return self._asplit_chunks(self.call(self._checked(inputs)))

    def _how_to_run(self) -> str:
        if self.is_generator:
            return "iterate node.iter_outputs(inputs)."
        return "await node.arun(inputs)." if self.is_async else "call node.run(inputs)."

    def _chunk_splitter(self) -> Callable[[Any], dict[str, Any]]:
        """Split chunks like return values, warning about dropped chunks once per run."""
        warned = False

        def split(chunk: Any) -> dict[str, Any]:
            nonlocal warned
            if self._outputs_spec is None:
                if chunk is not None and not warned:
                    warned = True
                    self._warn_dropped(chunk)
                return {}
            return self.outputs_from(chunk)

        return split

    def _split_chunks(self, chunks: Iterator[Any]) -> Iterator[dict[str, Any]]:
        split = self._chunk_splitter()
        try:
            try:
                for chunk in chunks:
                    yield split(chunk)
            except (SystemExit, KeyboardInterrupt) as exc:
                raise self._exit_error(exc) from exc
        finally:
            getattr(chunks, "close", lambda: None)()

    async def _asplit_chunks(self, chunks: AsyncIterator[Any]) -> AsyncIterator[dict[str, Any]]:
        split = self._chunk_splitter()
        try:
            try:
                async for chunk in chunks:
                    yield split(chunk)
            except (SystemExit, KeyboardInterrupt) as exc:
                raise self._exit_error(exc) from exc
        finally:
            close = getattr(chunks, "aclose", None)
            if close is not None:
                await close()

    def __call__(self, **inputs: Any) -> Any:
        """``node_obj(**inputs)``: run the node on keyword inputs, as Kedro's nodes do.

        Returns:
            What :meth:`run` returns; for an ``async def`` function the :meth:`arun`
            coroutine; for generators the :meth:`iter_outputs` / :meth:`aiter_outputs`
            iterator.
        """
        if self.is_generator:
            return self.aiter_outputs(inputs) if self.is_async else self.iter_outputs(inputs)
        if self.is_async:
            return self.arun(inputs)
        return self.run(inputs)


def node(
    func: Callable[..., Any],
    inputs: NodeInputs,
    outputs: NodeOutputs,
    *,
    name: str | None = None,
    tags: str | Iterable[str] | None = None,
    confirms: str | Iterable[str] | None = None,
    namespace: str | None = None,
    retries: int = 0,
    retry_delay: float = 0.0,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    timeout: float | None = None,
    version: str | None = None,
    cache: bool = True,
) -> Node:
    """Make a :class:`Node`.

    Args:
        func: a plain or ``async def`` function, a ``functools.partial`` of one (its bound
            arguments are not inputs), or a generator function, plain or async, whose every
            yielded chunk is saved as it comes.
        inputs: ``None``, a dataset name, a list of names (passed positionally) or a dict
            of parameter name to dataset name (passed by keyword). ``params:x`` names a
            parameter; ``ds@format`` one format of a transcoded dataset ``ds``.
        outputs: ``None``, a name, a list of names (the function returns a list or tuple of
            that length) or a dict of returned key to dataset name. Not a parameter.
        name: a name unique in its pipeline (letters, digits, ``_``, ``-``, ``.``);
            defaults to Kedro 1.x's ``<function>__<8 hex digits>``.
        tags: tags to select the node by (the same characters as names).
        confirms: datasets whose ``confirm()`` the run calls once the node succeeded
            (they need not be among the node's inputs or outputs).
        namespace: prefixes the node's name (``namespace.name``).
        retries: how many times to retry a failing call (0: fail at once).
        retry_delay: seconds before the first retry; doubled after each one.
        retry_on: exception types that are retried; others fail at once.
        timeout: seconds a call may take before it fails with ``NodeTimeoutError``.
        version: part of the node's fingerprint for ``run --changed``: bump it when what
            the code hash cannot see changed.
        cache: ``False`` makes ``run --changed`` always run the node.

    Raises:
        NodeError: the function cannot take the inputs, a name or tag is invalid, an output
            is a parameter or also an input, or the inputs or outputs are malformed; the
            message names the node.
    """
    return Node(func, inputs, outputs, name=name, tags=tags, confirms=confirms,
                namespace=namespace, retries=retries, retry_delay=retry_delay,
                retry_on=retry_on, timeout=timeout, version=version, cache=cache)
