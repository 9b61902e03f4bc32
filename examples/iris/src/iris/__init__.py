"""iris: the example pipeloop project (Kedro's iris starter, in pure Python)."""
