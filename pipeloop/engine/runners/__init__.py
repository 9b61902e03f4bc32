"""Runner policies over the one scheduler: sequential, thread, process (and Dask)."""
