"""seqpipe: corpus statistics, n-gram and RNN language models, and sequence forecasting.

The library is pure Python + Dask + torch and never imports prefect; `tasks/` and `flows/` wrap it.
"""

__version__ = "0.1.0"
SCHEMA_VERSION = 1
