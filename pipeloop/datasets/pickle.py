"""``PickleDataset``: any picklable Python object in a file."""

from __future__ import annotations

import importlib
import os
from typing import Any

from pipeloop.datasets.file import AbstractBytesFileDataset, Version
from pipeloop.errors import DatasetError

__all__ = ["PickleDataset"]


class PickleDataset(AbstractBytesFileDataset):
    """Loads and saves any picklable object.

    Warning:
        Unpickling runs code chosen by whoever wrote the file. Only load pickle files you
        (or someone you trust) wrote; never load one from an untrusted source.

    Args:
        filepath: where the object lives.
        backend: a module with pickle's ``dumps``/``loads`` API: ``"pickle"`` (default), or
            ``"cloudpickle"``/``"dill"`` for lambdas and local classes.
        load_args: passed to ``loads`` (``encoding``, ``fix_imports``, ...).
        save_args: passed to ``dumps`` (``protocol``, ...).
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath``; see :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.

    Raises:
        DatasetError: ``backend`` cannot be imported or has no ``dumps``/``loads``.
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        *,
        backend: str = "pickle",
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        version: Version | None = None,
        versioned: bool = False,
        metadata: dict[str, Any] | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
    ) -> None:
        try:
            module = importlib.import_module(backend)
        except ImportError as exc:
            raise DatasetError(
                f"PickleDataset cannot import backend {backend!r}: {exc}. Install it, or use "
                f"backend='pickle'."
            ) from exc
        if not all(callable(getattr(module, name, None)) for name in ("dumps", "loads")):
            raise DatasetError(
                f"PickleDataset backend {backend!r} has no dumps()/loads() functions; "
                f"use a module with pickle's API, such as 'pickle', 'cloudpickle' or 'dill'."
            )
        self._backend_name = backend
        self._backend = module
        super().__init__(
            filepath,
            load_args=load_args,
            save_args=save_args,
            version=version,
            versioned=versioned,
            metadata=metadata,
            credentials=credentials,
            fs_args=fs_args,
        )

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "backend": self._backend_name}

    def _deserialise(self, content: bytes) -> Any:
        return self._backend.loads(content, **self._load_args)

    def _serialise(self, data: Any) -> bytes:
        content = self._backend.dumps(data, **self._save_args)
        if not isinstance(content, bytes):
            raise DatasetError(
                f"PickleDataset backend {self._backend_name!r} returned "
                f"{type(content).__name__} from dumps(), not bytes: {self}"
            )
        return content
