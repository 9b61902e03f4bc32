"""Transcoded dataset names: ``ds@pandas`` and ``ds@spark`` are one dataset, ``ds``.

Kedro lets one dataset be read and written through several catalog entries, one per format:
a node saves ``ds@pandas`` and another loads ``ds@spark``. For the graph (linking, free
inputs and outputs, cycles, duplicate outputs, filters, renaming) both names are the one
dataset ``ds``, its *base name*; each side still loads or saves its own catalog entry, under
its full name.

Every name reaches these helpers already checked by ``node()``: at most one ``@``, with a
non-empty base and format around it.
"""

from __future__ import annotations

__all__ = ["TRANSCODING_SEPARATOR", "is_transcoded", "split_transcoding", "strip_transcoding"]

TRANSCODING_SEPARATOR = "@"
"""Separates a dataset's base name from its format: ``<base>@<format>``."""


def split_transcoding(name: str) -> tuple[str, str]:
    """``"ds@pandas"`` -> ``("ds", "pandas")``; a plain name -> ``(name, "")``."""
    base, _, fmt = name.partition(TRANSCODING_SEPARATOR)
    return base, fmt


def strip_transcoding(name: str) -> str:
    """The base name that links ``name`` to the other formats of its dataset:
    ``"ds@pandas"`` -> ``"ds"``; a plain name is returned as it is."""
    return name.partition(TRANSCODING_SEPARATOR)[0]


def is_transcoded(name: str) -> bool:
    """Whether ``name`` names one format of a dataset (``ds@pandas``)."""
    return TRANSCODING_SEPARATOR in name
