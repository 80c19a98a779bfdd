"""N-gram counting (Dask-parallel, exact), Parquet snapshots, and n-gram language models."""
