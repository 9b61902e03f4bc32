"""The one place that imports pandas, so that a missing extra fails with advice."""

from __future__ import annotations

try:
    # pandas ships no type information; pandas-stubs, when installed, provides it.
    import pandas as pd  # type: ignore[import-untyped, import-not-found, unused-ignore]
    from pandas.io.common import (  # type: ignore[import-untyped, import-not-found, unused-ignore]
        infer_compression,
    )
except ImportError as exc:
    raise ImportError(
        "pipeloop.datasets.pandas needs pandas, which is not installed. "
        'Install the extra: pip install "pipeloop[pandas]"',
        name="pandas",
    ) from exc

__all__ = ["infer_compression", "pd"]
