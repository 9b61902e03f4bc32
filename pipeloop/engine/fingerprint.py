"""Fingerprints: short digests that change when what a node computes could change.

A node's fingerprint covers its code (the function's code object, constants, default
arguments, closure values, the same-module functions and plain constants it refers to, the
arguments of a ``functools.partial``, and a user-set ``node(..., version=...)``), the values
of the parameters it reads (``params:*`` and ``parameters``, leaf by leaf), and the
fingerprints of its inputs. An output's fingerprint is ``hash(producer's fingerprint, output
name)``, so a change anywhere upstream reaches every node below it (a Merkle DAG) without
reading intermediate data.

Raw inputs (datasets no node of the pipeline writes) are identified cheaply:

- a dataset may offer its own ``fingerprint()`` method (plain or ``async def``);
- a versioned file dataset by the version it loads;
- an unversioned file dataset by its content, hashed in 1 MiB chunks in a worker thread, the
  digest cached by ``(device, inode, size, mtime, ctime)`` so an unchanged file is not read
  again (files modified in the last two seconds are never cached: their timestamp could
  still be shared by a later write);
- a raw input written by a node in an earlier run keeps that node's output fingerprint while
  the file is still the one it wrote;
- anything else has no fingerprint (``None``), which counts as changed on every run.

Code fingerprints depend on the Python version's bytecode: after a Python upgrade every node
is "code changed" once.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import anyio.to_thread

from pipeloop._async import call_maybe_async

if TYPE_CHECKING:
    from pipeloop.datasets.catalog import DataCatalog
    from pipeloop.engine.node import Node
    from pipeloop.engine.pipeline import Pipeline

__all__ = [
    "MISSING",
    "FileKey",
    "HashCache",
    "MemoryHashCache",
    "NodeFingerprint",
    "PipelineFingerprints",
    "code_fingerprint",
    "dataset_identity",
    "file_digest",
    "fingerprint_pipeline",
    "fingerprint_table",
    "is_parameter",
    "make_node_fingerprint",
    "node_code_fingerprint",
    "output_fingerprint",
    "parameter_fingerprints",
    "value_fingerprint",
]

MISSING = "missing"
"""The identity of a dataset whose file (or version) does not exist."""

UNKNOWN = "?"
"""An input without a fingerprint, among the parts of a partial fingerprint."""

PARTIAL = "?"
"""The start of a partial fingerprint (see :attr:`NodeFingerprint.recorded`)."""

_CHUNK = 1 << 20
#: Files modified more recently than this are hashed every time, never cached.
_RACY_SECONDS = 2.0
_SEP = "\x1f"


def _digest(*parts: str) -> str:
    return hashlib.blake2b(_SEP.join(parts).encode("utf-8", "surrogatepass"),
                           digest_size=16).hexdigest()


def is_parameter(name: str) -> bool:
    """Whether dataset ``name`` is a parameter (``parameters`` or ``params:...``)."""
    return name == "parameters" or name.startswith("params:")


# -- values -------------------------------------------------------------------------------------

def _canonical(value: Any, out: list[str], depth: int = 0) -> None:
    """Append a deterministic text form of ``value`` (independent of dict and set order)."""
    if depth > 50:
        raise ValueError("value nested too deeply to fingerprint")
    if value is None or isinstance(value, (bool, int, float, complex)):
        out.append(f"{type(value).__name__}:{value!r}")
    elif isinstance(value, (str, bytes)):
        out.append(f"{type(value).__name__}:{len(value)}:{value!r}")
    elif isinstance(value, Mapping):
        items = sorted((value_fingerprint(key), val) for key, val in value.items())
        out.append(f"map:{len(items)}(")
        for key, val in items:
            out.append(key)
            _canonical(val, out, depth + 1)
        out.append(")")
    elif isinstance(value, (list, tuple)):
        out.append(f"{type(value).__name__}:{len(value)}(")
        for item in value:
            _canonical(item, out, depth + 1)
        out.append(")")
    elif isinstance(value, (set, frozenset)):
        out.append(f"set({','.join(sorted(value_fingerprint(item) for item in value))})")
    elif callable(value) and not isinstance(value, type):
        out.append(f"callable:{code_fingerprint(value)}")
    else:
        out.append(f"pickle:{type(value).__qualname__}:"
                   + hashlib.blake2b(pickle.dumps(value, protocol=4), digest_size=16).hexdigest())


def value_fingerprint(value: Any) -> str:
    """A digest of ``value`` that is the same in every process for equal plain data.

    Dicts and sets are taken in sorted order; functions by their code; other objects by
    their pickle. A value that cannot be pickled gets a digest of its ``repr`` when that
    holds no memory address, else a fresh random one (so it counts as changed).
    """
    out: list[str] = []
    try:
        _canonical(value, out)
    except Exception:
        text = repr(value)
        if " at 0x" in text:
            return os.urandom(16).hex()
        return _digest("repr", type(value).__qualname__, text)
    return _digest(*out)


def parameter_fingerprints(name: str, value: Any) -> dict[str, str]:
    """Each leaf of parameter input ``name`` by its dotted key, for reasons that name the
    key that changed (``params:model`` -> ``{"model.lr": ..., "model.depth": ...}``)."""
    prefix = "" if name == "parameters" else name.removeprefix("params:")
    leaves: dict[str, str] = {}

    def walk(key: str, item: Any) -> None:
        if isinstance(item, Mapping) and item:
            for inner, val in item.items():
                walk(f"{key}.{inner}" if key else str(inner), val)
        else:
            leaves[key or "parameters"] = value_fingerprint(item)

    walk(prefix, value)
    return leaves


# -- code ---------------------------------------------------------------------------------------

_CODE_CACHE: dict[types.CodeType, str] = {}


def _code_digest(code: types.CodeType) -> str:
    """The digest of a code object without its file name and line numbers, so moving a
    function or editing a comment does not count as a change."""
    cached = _CODE_CACHE.get(code)
    if cached is not None:
        return cached
    consts = []
    for const in code.co_consts:
        consts.append(_code_digest(const) if isinstance(const, types.CodeType)
                      else f"{type(const).__name__}:{const!r}")
    digest = _digest("code", code.co_name, code.co_code.hex(), *consts, "names",
                     *code.co_names, "vars", *code.co_varnames, "free", *code.co_freevars,
                     str(code.co_argcount), str(code.co_kwonlyargcount), str(code.co_flags))
    if len(_CODE_CACHE) > 10_000:
        _CODE_CACHE.clear()
    _CODE_CACHE[code] = digest
    return digest


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


_PLAIN = (bool, int, float, complex, str, bytes, type(None))


def _function_parts(func: types.FunctionType, seen: set[int]) -> list[str]:
    parts = [_code_digest(func.__code__)]
    if func.__defaults__:
        parts.append("defaults:" + value_fingerprint(func.__defaults__))
    if func.__kwdefaults__:
        parts.append("kwdefaults:" + value_fingerprint(func.__kwdefaults__))
    for cell in func.__closure__ or ():
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            parts.append("cell:empty")
            continue
        parts.append("cell:" + _callable_or_value(contents, seen))
    module = func.__module__
    for name in sorted(_global_names(func.__code__)):
        target = func.__globals__.get(name)
        if isinstance(target, types.FunctionType) and target.__module__ == module:
            parts.append(f"global:{name}:" + _fingerprint(target, seen))
        elif isinstance(target, _PLAIN) or (
                isinstance(target, tuple) and all(isinstance(item, _PLAIN) for item in target)):
            parts.append(f"global:{name}:" + value_fingerprint(target))
    return parts


def _callable_or_value(item: Any, seen: set[int]) -> str:
    if callable(item) and not isinstance(item, type):
        return _fingerprint(item, seen)
    return value_fingerprint(item)


def _fingerprint(func: Any, seen: set[int]) -> str:
    if id(func) in seen:  # recursion between same-module functions
        return "recursive:" + getattr(func, "__qualname__", "?")
    seen = seen | {id(func)}
    if isinstance(func, functools.partial):
        return _digest("partial", _fingerprint(func.func, seen), value_fingerprint(func.args),
                       value_fingerprint(func.keywords))
    if isinstance(func, types.MethodType):
        return _digest("method", _fingerprint(func.__func__, seen),
                       type(func.__self__).__qualname__)
    if isinstance(func, types.FunctionType):
        return _digest("function", *_function_parts(func, seen))
    call = next((klass.__dict__["__call__"] for klass in type(func).__mro__
                 if "__call__" in klass.__dict__), None)
    if isinstance(call, types.FunctionType):  # a callable object of a Python class
        state = getattr(func, "__dict__", {})
        return _digest("object", type(func).__qualname__, _fingerprint(call, seen),
                       value_fingerprint(state))
    # builtins and C functions: their name is all there is
    return _digest("builtin", getattr(func, "__module__", "") or "",
                   getattr(func, "__qualname__", type(func).__qualname__))


def code_fingerprint(func: Callable[..., Any]) -> str:
    """A digest of what ``func`` computes: its code, constants, defaults, closure values,
    the same-module functions and plain constants it names, and a partial's arguments."""
    return _fingerprint(func, set())


def node_code_fingerprint(node: Node) -> str:
    """The digest of ``node``'s function (see :func:`code_fingerprint`)."""
    return code_fingerprint(node.func)


def output_fingerprint(node_fingerprint: str | None, output: str) -> str | None:
    """The fingerprint of dataset ``output`` as written by a node with that fingerprint."""
    # No second hash: the node's digest already covers everything, and this runs per output.
    return None if node_fingerprint is None else f"{node_fingerprint}/{output}"


# -- files and datasets ---------------------------------------------------------------------

FileKey = tuple[int, int, int, int, int]
"""``(device, inode, size, mtime_ns, ctime_ns)``: what must match for a cached digest."""


class HashCache(Protocol):
    """Where content digests of files are remembered (blocking; called in a worker thread)."""

    def cached_digest(self, path: str, key: FileKey) -> str | None:
        """The digest stored for ``path`` if it was taken with this ``key``."""

    def remember_digest(self, path: str, key: FileKey, digest: str) -> None:
        """Store ``digest`` for ``path`` as seen with ``key``."""


class MemoryHashCache:
    """A :class:`HashCache` in a dict, for one process."""

    def __init__(self) -> None:
        self._digests: dict[str, tuple[FileKey, str]] = {}

    def cached_digest(self, path: str, key: FileKey) -> str | None:
        found = self._digests.get(path)
        return found[1] if found is not None and found[0] == key else None

    def remember_digest(self, path: str, key: FileKey, digest: str) -> None:
        self._digests[path] = (key, digest)


def _hash_file(path: Path) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def file_digest(path: Path, cache: HashCache | None = None) -> str:
    """``size:<bytes>:<content digest>`` of the file at ``path``, or :data:`MISSING`
    (blocking: run it in a worker thread). The file is read in chunks, never whole."""
    try:
        stat = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return MISSING
    if not os.path.isfile(path):
        return MISSING
    key: FileKey = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)
    text = str(Path(path).resolve())
    if cache is not None:
        cached = cache.cached_digest(text, key)
        if cached is not None:
            return cached
    try:
        digest = f"size:{stat.st_size}:{_hash_file(path)}"
    except FileNotFoundError:
        return MISSING
    settled = time.time_ns() - max(stat.st_mtime_ns, stat.st_ctime_ns) > _RACY_SECONDS * 1e9
    if cache is not None and settled:
        cache.remember_digest(text, key, digest)
    return digest


async def dataset_identity(dataset: Any, *, hash_cache: HashCache | None = None) -> str | None:
    """What identifies the data in ``dataset`` now: its own ``fingerprint()``, the version
    a versioned file dataset loads, the content digest of a file, :data:`MISSING` when the
    file or version is not there, or ``None`` when the dataset cannot tell."""
    offered = getattr(dataset, "fingerprint", None)
    if callable(offered):
        value = await call_maybe_async(offered)
        return None if value is None else f"own:{value}"
    from pipeloop.datasets.file import AbstractFileDataset
    from pipeloop.errors import VersionError

    if isinstance(dataset, AbstractFileDataset):
        remote = dataset.protocol is not None
        if dataset.versioned:
            try:
                version = await dataset.resolve_load_version()
            except VersionError:
                return MISSING
            if remote:
                return f"version:{version}"
            local = Path(dataset.filepath) / str(version) / dataset.filepath.name
            exists = await anyio.to_thread.run_sync(os.path.isfile, local)
            return f"version:{version}" if exists else MISSING
        if remote:  # no cheap content identity for an unversioned remote file
            return None
        return await anyio.to_thread.run_sync(file_digest, Path(dataset.filepath), hash_cache)
    return None


# -- pipelines --------------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeFingerprint:
    """A node's fingerprint and the parts it is made of (kept to explain a change).

    Attributes:
        code: the digest of the function.
        version: the node's user-set version, or ``None``.
        params: parameter leaf (``model.lr``) -> digest of its value.
        inputs: input dataset -> its fingerprint (``None``: unknown, counts as changed).
        outputs: the node's output names.
        cache: ``False`` when the node always runs (``node(..., cache=False)``).
        digest: the fingerprint, or ``None`` when an input is unknown or caching is off.
    """

    code: str
    version: str | None
    params: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, str | None] = field(default_factory=dict)
    outputs: tuple[str, ...] = ()
    cache: bool = True
    digest: str | None = None

    def to_record(self) -> dict[str, Any]:
        """The parts as plain JSON data, for the provenance store."""
        return {"code": self.code, "version": self.version, "params": self.params,
                "inputs": self.inputs, "outputs": list(self.outputs)}

    def output(self, name: str) -> str | None:
        """The fingerprint of this node's output ``name`` (``None`` when caching is off)."""
        return output_fingerprint(self.digest if self.cache else None, name)

    @property
    def recorded(self) -> str | None:
        """What a provenance record keeps as this node's fingerprint: the digest; for a node
        with an input that has no fingerprint, a *partial* one (``?`` and a digest of the
        parts it has), which never equals a digest, so the node is never fresh, but lets a
        run that changed nothing skip rewriting its record; ``None`` when caching is off."""
        if not self.cache:
            return None
        if self.digest is not None:
            return self.digest
        return PARTIAL + _digest(*_parts(self.code, self.version, self.params, self.inputs,
                                         self.outputs))


def _parts(code: str, version: str | None, params: Mapping[str, str],
           inputs: Mapping[str, str | None], outputs: Iterable[str]) -> list[str]:
    """What a node's fingerprint hashes, in order (an input without one reads ``?``)."""
    parts = [code, version or "", "params"]
    for key in sorted(params):
        parts += [key, params[key]]
    parts.append("inputs")
    for key in sorted(inputs):
        parts += [key, inputs[key] or UNKNOWN]
    parts += ["outputs", *outputs]
    return parts


def make_node_fingerprint(node: Node, code: str, params: dict[str, str],
                          inputs: dict[str, str | None]) -> NodeFingerprint:
    """Combine the parts of ``node``'s fingerprint."""
    version = getattr(node, "version", None)
    version = None if version is None else str(version)
    cache = getattr(node, "cache", True) is not False
    digest: str | None = None
    if all(value is not None for value in inputs.values()):
        digest = _digest(*_parts(code, version, params, inputs, node.outputs))
    return NodeFingerprint(code, version, params, inputs, tuple(node.outputs), cache, digest)


class RecordedOutputs(Protocol):
    """What an earlier run recorded about persisted outputs (see the provenance store)."""

    def recorded_output(self, name: str) -> tuple[str | None, str | None] | None:
        """``(output fingerprint, identity at save time)`` of dataset ``name``, if any."""


class PipelineFingerprints(Mapping[str, NodeFingerprint]):
    """Node name -> :class:`NodeFingerprint`, in pipeline order (see
    :func:`fingerprint_table`).

    The digests are computed at once; each :class:`NodeFingerprint` is made on first
    access, from the node and what the pass found for its inputs, since a run's recorder
    needs the parts only of the nodes whose record changes.
    """

    def __init__(self, nodes: list[Node], codes: dict[int, str],
                 recorded: dict[str, str | None], uncached: dict[str, str | None],
                 inputs: dict[str, str | None], leaves: dict[str, dict[str, str]]) -> None:
        self._nodes = nodes  # in the order of ``recorded``
        self._by_name: dict[str, Node] | None = None
        self._codes = codes
        self._recorded = recorded
        self._uncached = uncached
        self._inputs = inputs
        self._leaves = leaves
        self._made: dict[str, NodeFingerprint] = {}

    def __getitem__(self, name: str) -> NodeFingerprint:
        made = self._made.get(name)
        if made is None:
            if self._by_name is None:
                self._by_name = dict(zip(self._recorded, self._nodes, strict=True))
            item = self._by_name[name]
            params: dict[str, str] = {}
            inputs: dict[str, str | None] = {}
            for dataset in item.inputs:
                if is_parameter(dataset):
                    params.update(self._leaves[dataset])
                else:
                    inputs[dataset] = self._inputs[dataset]
            digest = self._uncached[name] if name in self._uncached else self._recorded[name]
            if digest is not None and digest.startswith(PARTIAL):
                digest = None
            made = self._made[name] = NodeFingerprint(
                self._codes[id(item.func)], item.version, params, inputs, tuple(item.outputs),
                item.cache is not False, digest)
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._recorded)

    def __len__(self) -> int:
        return len(self._recorded)

    def recorded_digests(self) -> dict[str, str | None]:
        """Node name -> what a record keeps (:attr:`NodeFingerprint.recorded`), without
        making any :class:`NodeFingerprint`."""
        return self._recorded


_Digested = tuple[str, dict[str, str | None]]  # a node's digest, its outputs' fingerprints

#: What a node's parts hash to, so that the same nodes, parameters and inputs in the next
#: run (or the next status check) cost a dict lookup instead of a hash and a string per
#: output. Keys are tuples of the parts (a tuple of strings hashes from their cached
#: hashes): for a node reading one dataset the pass has already fingerprinted (the output
#: of a node before it, mostly), ``(code, version, input, its fingerprint or None,
#: *outputs)`` in ``_CHAINED``; for any other, every part :func:`make_node_fingerprint`
#: hashes, in ``_DIGESTED``. A value is ``(digest, {output: fingerprint})``, or for a node
#: with an input without a fingerprint ``(partial fingerprint, {output: None})``. Both are
#: bounded like the code cache.
_CHAINED: dict[tuple[str | None, ...], _Digested] = {}
_DIGESTED: dict[tuple[str, ...], _Digested] = {}


def _digested(cache: dict[Any, _Digested], key: tuple[str | None, ...],
              parts: list[str], outputs: list[str], complete: bool = True) -> _Digested:
    """Hash ``parts`` and remember it under ``key``; a partial fingerprint (``complete``
    false) gives its outputs none."""
    if len(cache) > 100_000:
        cache.clear()
    if complete:
        digest = _digest(*parts)
        found = cache[key] = (digest, {name: f"{digest}/{name}" for name in outputs})
    else:
        found = cache[key] = (PARTIAL + _digest(*parts), dict.fromkeys(outputs))
    return found


async def fingerprint_table(
    pipeline: Pipeline,
    catalog: DataCatalog,
    *,
    recorded: RecordedOutputs | None = None,
    hash_cache: HashCache | None = None,
    identities: dict[str, str | None] | None = None,
) -> PipelineFingerprints:
    """Every node's fingerprint, in one pass over the pipeline (see
    :func:`fingerprint_pipeline` for the arguments). The digests are those
    :func:`make_node_fingerprint` gives; the pass makes no per-node object but the key of
    a cache, since it runs before every recorded run."""
    seen = identities if identities is not None else {}
    known: dict[str, str | None] = {}  # dataset -> fingerprint: node outputs, raw inputs
    codes: dict[int, str] = {}
    leaves: dict[str, dict[str, str]] = {}
    flat: dict[str, list[str]] = {}  # parameter input -> its sorted leaves: key, value, ...
    kept: dict[str, str | None] = {}
    uncached: dict[str, str | None] = {}
    chained = _CHAINED
    nodes = pipeline.nodes
    for item in nodes:
        code = codes.get(id(item.func))
        if code is None:
            code = codes[id(item.func)] = code_fingerprint(item.func)
        names, outputs, version = item.inputs, item.outputs, item.version
        if len(names) == 1 and names[0] in known:  # the common case: a chain
            value = known[names[0]]
            key = ((code, version, names[0], value, outputs[0]) if len(outputs) == 1
                   else (code, version, names[0], value, *outputs))
            found = chained.get(key)
            if found is None:
                found = _digested(chained, key, [code, version or "", "params", "inputs",
                                                 names[0], value or UNKNOWN, "outputs",
                                                 *outputs], outputs, value is not None)
        else:
            parts = [code, version or "", "params"]
            complete = await _input_parts(names, parts, catalog, recorded, hash_cache, seen,
                                          known, leaves, flat)
            parts.append("outputs")
            parts += outputs
            whole = tuple(parts)
            found = _DIGESTED.get(whole) or _digested(_DIGESTED, whole, parts, outputs,
                                                      complete)
        name = item.name
        if item.cache:
            kept[name] = found[0]
            known |= found[1]
        else:  # a node that always runs: its digest is not recorded
            kept[name] = None
            uncached[name] = None if found[0].startswith(PARTIAL) else found[0]
            known.update(dict.fromkeys(outputs))
    return PipelineFingerprints(nodes, codes, kept, uncached, known, leaves)


async def _input_parts(names: list[str], parts: list[str], catalog: DataCatalog,
                       recorded: RecordedOutputs | None, hash_cache: HashCache | None,
                       seen: dict[str, str | None], known: dict[str, str | None],
                       leaves: dict[str, dict[str, str]], flat: dict[str, list[str]]) -> bool:
    """Append the parameter and input parts of a node reading ``names`` to ``parts``, in
    :func:`make_node_fingerprint`'s order (``?`` for an input without a fingerprint);
    whether every input has one."""
    params: list[str] = []
    inputs: dict[str, str | None] = {}
    for name in names:
        if is_parameter(name):
            if name not in leaves:
                leaves[name] = found = await _parameter_leaves(catalog, name)
                flat[name] = [part for key in sorted(found) for part in (key, found[key])]
            params.append(name)
        else:
            if name not in known:  # a raw input: looked up once per pass
                known[name] = await _raw_input(catalog, name, recorded, hash_cache, seen)
            inputs[name] = known[name]
    if len(params) == 1:
        parts += flat[params[0]]
    elif params:
        merged: dict[str, str] = {}
        for name in params:
            merged.update(leaves[name])
        for key in sorted(merged):
            parts += (key, merged[key])
    parts.append("inputs")
    complete = True
    for key in sorted(inputs):
        value = inputs[key]
        if value is None:
            complete, value = False, UNKNOWN
        parts += (key, value)
    return complete


async def fingerprint_pipeline(
    pipeline: Pipeline,
    catalog: DataCatalog,
    *,
    recorded: RecordedOutputs | None = None,
    hash_cache: HashCache | None = None,
    identities: dict[str, str | None] | None = None,
) -> dict[str, NodeFingerprint]:
    """Every node's fingerprint, by node name, in pipeline order.

    Args:
        pipeline: the nodes.
        catalog: where parameters and raw inputs live.
        recorded: earlier runs' records; a raw input still as a recorded node wrote it keeps
            that node's output fingerprint.
        hash_cache: remembers file digests between calls.
        identities: filled with dataset name -> identity for every raw input looked at, so
            callers can reuse them.

    Returns:
        Node name -> :class:`NodeFingerprint`.
    """
    table = await fingerprint_table(pipeline, catalog, recorded=recorded,
                                    hash_cache=hash_cache, identities=identities)
    return dict(table.items())


async def _parameter_leaves(catalog: DataCatalog, name: str) -> dict[str, str]:
    dataset = catalog.get(name)
    if dataset is None:
        return {name.removeprefix("params:"): MISSING}
    # The dataset itself, not catalog.load: a status check should not log "Loading data".
    return parameter_fingerprints(name, await dataset.load())


async def _raw_input(catalog: DataCatalog, name: str, recorded: RecordedOutputs | None,
                     hash_cache: HashCache | None, seen: dict[str, str | None]) -> str | None:
    dataset = catalog.get(name)
    if dataset is None:
        return None
    if name not in seen:
        seen[name] = await dataset_identity(dataset, hash_cache=hash_cache)
    identity = seen[name]
    if identity is None:
        return None
    if recorded is not None:
        record = recorded.recorded_output(name)
        if record is not None and record[1] == identity and record[0] is not None:
            return record[0]
    return _digest("raw", identity)
