"""The project's pipelines by name; ``pipeloop run`` runs ``__default__``."""

from __future__ import annotations

from iris.pipelines import data_engineering, data_science
from pipeloop import Pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """``de`` splits the data, ``ds`` trains and evaluates the model; ``__default__`` runs
    both."""
    de = data_engineering.create_pipeline()
    ds = data_science.create_pipeline()
    return {"__default__": de + ds, "de": de, "ds": ds}
