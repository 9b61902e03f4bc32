"""``YAMLDataset``: YAML documents in a file, loaded with safe loaders only."""

from __future__ import annotations

from typing import Any, ClassVar

import yaml
from yaml.constructor import BaseConstructor, FullConstructor

from pipeloop.datasets.file import AbstractBytesFileDataset
from pipeloop.errors import DatasetError

__all__ = ["YAMLDataset"]


def _is_safe_loader(loader: object) -> bool:
    # FullConstructor (and the unsafe ones built on it) can make arbitrary Python objects.
    return (
        isinstance(loader, type)
        and issubclass(loader, BaseConstructor)
        and not issubclass(loader, FullConstructor)
    )


class YAMLDataset(AbstractBytesFileDataset):
    """Loads and saves YAML-compatible data (dicts, lists, strings, numbers, booleans,
    dates, ``None``).

    Loading only ever uses a safe loader, so a YAML file cannot make Python objects or run
    code: ``!!python/...`` tags are a load error.

    Args:
        filepath: where the document lives.
        load_args: ``Loader``, a safe loader class: ``yaml.SafeLoader`` (default),
            ``yaml.CSafeLoader`` (faster, needs libyaml) or ``yaml.BaseLoader`` (everything
            as strings). Unsafe loaders are refused.
        save_args: passed to ``yaml.safe_dump``; the default is
            ``{"default_flow_style": False}`` (block style, non-ASCII text escaped).
        version: the versions to load and save; see :class:`AbstractFileDataset`.
        versioned: turn versioning on without pinning versions.
        metadata: free-form information; pipeloop ignores it.
        credentials: for a remote ``filepath`` (``s3://...``); see
            :class:`AbstractFileDataset`.
        fs_args: for a remote ``filepath``; see :class:`AbstractFileDataset`.

    Raises:
        DatasetError: ``load_args`` names an unsafe loader or an unknown option.
    """

    DEFAULT_LOAD_ARGS: ClassVar[dict[str, Any]] = {"Loader": yaml.SafeLoader}
    # Not ``allow_unicode=True``: PyYAML then writes U+0085 unescaped, which reads back as
    # a line break. Escaped non-ASCII text round-trips exactly.
    DEFAULT_SAVE_ARGS: ClassVar[dict[str, Any]] = {"default_flow_style": False}

    @classmethod
    def _check_args(cls, load_args: dict[str, Any], save_args: dict[str, Any]) -> None:
        unknown = sorted(set(load_args) - {"Loader"})
        if unknown:
            raise DatasetError(
                f"YAMLDataset load_args takes only 'Loader'; got {', '.join(unknown)}."
            )
        loader = load_args.get("Loader", yaml.SafeLoader)
        if not _is_safe_loader(loader):
            raise DatasetError(
                f"YAMLDataset loads with safe loaders only; {loader!r} can build arbitrary "
                f"Python objects. Use yaml.SafeLoader or yaml.CSafeLoader."
            )

    def _deserialise(self, content: bytes) -> Any:
        return yaml.load(content, **self._load_args)  # the Loader was checked safe in __init__

    def _serialise(self, data: Any) -> bytes:
        text = yaml.safe_dump(data, **self._save_args)
        # With an ``encoding`` save arg, PyYAML returns bytes already.
        return text if isinstance(text, bytes) else text.encode("utf-8")
