"""Node functions in a module with heavy imports (``heavy-imports``): scikit-learn when it is
installed, else pandas, pyarrow and matplotlib. A worker that must import this module before
its first node pays for it; one forked with it already imported does not."""

from __future__ import annotations

import pandas as pd

try:
    import sklearn.ensemble
    import sklearn.linear_model  # noqa: F401

    HEAVY = "pandas, scikit-learn"
except ImportError:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import pyarrow
    import pyarrow.parquet  # noqa: F401

    HEAVY = "pandas, pyarrow, matplotlib"

__all__ = ["HEAVY", "step"]


def step(x: int) -> int:
    """A little pandas work."""
    return int(pd.Series([x, 1]).sum())
