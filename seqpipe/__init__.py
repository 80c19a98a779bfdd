"""seqpipe: corpus statistics, n-gram and RNN language models, and sequence forecasting.

The library is pure Python + Dask + torch and never imports prefect; `tasks/` and `flows/` wrap it.

Importing it bounds how long idle OpenMP threads spin before they sleep (`GOMP_SPINCOUNT=3000` unless set;
read when torch loads libgomp, so only where seqpipe is imported first, as in the CLI and the flows). Why,
measured on 2 cores (LSTM 512, batch 32, bf16, 2 threads): alone, 42.2 k tokens/s vs libgomp's default
42.6 k; beside one busy process, 18 k vs the default's 1.7 k (its long spin starves the thread that holds
the work); `OMP_WAIT_POLICY=PASSIVE` (what the tests set) gives 28.7 k there but 22 k alone, losing the
second thread's gain (one thread: 30 k either way).
"""

import os

os.environ.setdefault("GOMP_SPINCOUNT", "3000")

__version__ = "0.1.0"
SCHEMA_VERSION = 1
