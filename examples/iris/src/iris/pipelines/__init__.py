"""The project's pipelines: ``data_engineering`` (de) and ``data_science`` (ds)."""
