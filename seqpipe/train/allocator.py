"""Keep freed memory in the process while training on a CPU (glibc's `mallopt`); a no-op elsewhere.

A training step frees and reallocates the same ~100 MB of activations and gradients every minibatch.
With glibc's defaults the large blocks go back to the kernel when freed (mmap / trim) and come back as
fresh pages, zeroed by the kernel one page fault at a time: on a 2-core Xeon, a 2 x 512 LSTM at batch
32 x 128 took 7.5 M page faults and 17 s of system time per minute, and trained at 16-19 k tokens/s.
One arena, a fixed mmap threshold, a large trim threshold and a top pad keep those pages in the heap:
0.2 M faults, 1.5 s of system time, 26 k tokens/s (same minute, same model). The price is that the
process holds on to its peak heap (RSS ~970 MB instead of ~810 MB there) until it exits.

The one-arena setting only reaches threads that have not allocated yet: training in the main thread
(the CLI) gets all of it; in a thread that was already running the other settings still halve the faults
(a 2 x 512 LSTM step: 82 k default, 41 k there, 20 k main thread). The local Dask clusters of grids and of
the `rnn-lm` flow therefore preload this module (`DASK_PRELOAD`): `dask_setup` tunes each worker process
as it starts. One float32 2 x 512 LSTM step (batch 32 x 128, one thread) in a Dask worker, 2026-12-07, AMD
EPYC: 100 k page faults and 600-617 ms untuned, 46-57 k and 506-542 ms tuned by the task (as before),
38-41 k and 475-507 ms preloaded.

`SEQPIPE_MALLOC_TUNING=false` leaves glibc's defaults (set it to compare, or where memory is tight).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

from seqpipe.config import Settings

# mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -2, -3, -8
_SETTINGS = (
    (_M_ARENA_MAX, 1),  # threads share the main arena, whose heap the thresholds below govern
    (_M_MMAP_THRESHOLD, 32 << 20),  # blocks up to 32 MB (glibc's maximum) come from the heap, not mmap
    (_M_TRIM_THRESHOLD, 1 << 30),  # hand the heap's top back to the kernel only past 1 GB free
    (_M_TOP_PAD, 512 << 20),  # grow the heap in 512 MB steps (address space; pages count when touched)
)
_done = False


def keep_freed_memory() -> bool:
    """Tune glibc's malloc once per process so freed tensors are reused; True when it was applied."""
    global _done
    if _done:
        return True
    if not sys.platform.startswith("linux") or not Settings().malloc_tuning:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl or another libc: nothing to tune
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = all(mallopt(param, value) == 1 for param, value in _SETTINGS)
    return _done


DASK_PRELOAD = __name__  # `LocalCluster(preload=[DASK_PRELOAD])`: Dask runs `dask_setup` in each new worker


def dask_setup(worker: object) -> None:
    """Dask's preload hook: tune the worker process at its start, before a task thread allocates, so the
    one-arena setting reaches the thread that trains."""
    keep_freed_memory()
