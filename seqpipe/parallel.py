"""Where Dask work runs: an existing scheduler, a local cluster, or inline in this process.

Library code takes a `distributed.Client` or an `InlineClient` (same `submit`/`gather` subset), so
tests can run the exact same graph without starting processes.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, nullcontext, suppress
from typing import Any

# A task whose worker dies this many times plus one fails the run (Dask's KilledWorker) instead of
# being retried forever; one death (a lost or killed worker) is survived with the task rerun elsewhere.
ALLOWED_FAILURES = 2


def _local_worker_config() -> dict[str, Any]:
    """Dask settings for the local workers that make a worker cost what the same work costs in-process.

    Dask's default `MALLOC_TRIM_THRESHOLD_` also turns off glibc's adaptive mmap threshold, so every
    array over 128 KiB is a fresh mmap: three times the page faults of an in-process run and 10-15 %
    more CPU. Arrays this large are returned to the system on free anyway (they are mmapped once the
    adaptive threshold reaches 32 MiB). The sampling profiler (every 10 ms, for the dashboard) is off too:
    the local cluster has no dashboard.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return {"distributed.nanny.pre-spawn-environ": environ, "distributed.worker.profile.enabled": False}


class InlineFuture:
    """An already-computed result with the `Future` methods the library uses."""

    def __init__(self, value: Any):
        self._value = value

    def result(self) -> Any:
        """The value."""
        return self._value


def _resolve(value: Any) -> Any:
    if isinstance(value, (InlineFuture, Future)):
        return value.result()
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v) for v in value)
    return value


class InlineClient:
    """Runs each submitted function in this process (workers=0): at once, or on the threads of `pool`.

    A pool (first in, first out) runs tasks in the order they were submitted, and a task waits for the
    futures among its arguments in its thread. Nothing deadlocks: a future exists only once submitted, so
    every task a running task waits for was taken from the queue before it, and is running or done.
    """

    def __init__(self, pool: ThreadPoolExecutor | None = None) -> None:
        self.pool = pool

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> InlineFuture | Future:
        """Run `fn` now, or queue it on the pool; dask-only keywords (`retries`, `key`, `pure`) are ignored."""
        for name in ("retries", "key", "pure", "priority", "resources"):
            kwargs.pop(name, None)

        def run() -> Any:
            return fn(*_resolve(args), **{k: _resolve(v) for k, v in kwargs.items()})

        return InlineFuture(run()) if self.pool is None else self.pool.submit(run)

    def gather(self, futures: list[InlineFuture | Future]) -> list[Any]:
        """Values of the futures, waited for in order."""
        return [f.result() for f in futures]


def as_completed(client: Any, futures: list[Any]) -> Iterator[Any]:
    """Yield futures as they finish (in order for inline work; errors surface at gather, as with Dask)."""
    if isinstance(client, InlineClient):
        for future in futures:
            if isinstance(future, Future):
                wait([future])
            yield future
        return
    from distributed import as_completed as dask_as_completed

    yield from dask_as_completed(futures)


def cap_workers(requested: int, cpus: int, partitions: int) -> tuple[int, str | None]:
    """Local workers worth starting: no more than the CPU cores and the partitions; and why, when fewer.

    >>> cap_workers(100, 2, 1), cap_workers(2, 8, 40), cap_workers(0, 2, 5)
    ((1, '--workers 100 lowered to 1 (2 CPU cores, 1 partition)'), (2, None), (0, None))
    """
    usable = max(1, min(requested, cpus, partitions))
    if requested <= usable:
        return requested, None
    return usable, (f"--workers {requested} lowered to {usable} ({cpus} CPU core{'s' * (cpus != 1)}, "
                    f"{partitions} partition{'s' * (partitions != 1)})")


def usable_cpus() -> int:
    """CPU cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _kill_workers(cluster: Any) -> None:
    """SIGKILL the worker processes of a local cluster (a graceful stop mid-task takes seconds and logs)."""
    for nanny in list(cluster.workers.values()):
        with suppress(Exception):
            nanny.close_gracefully()  # no restart of the process killed next
        pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
        if pid:
            with suppress(OSError):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def _logs_muted(name: str) -> Iterator[None]:
    """Drop the records of logger `name` (and its children) below CRITICAL inside the block."""
    logger = logging.getLogger(name)
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextmanager
def _children_block_sigint() -> Iterator[None]:
    """Processes started inside the block (and later by threads started in it) never receive SIGINT.

    Ctrl-C reaches the whole process group; only this process should act on it, stopping the workers
    without tracebacks of their own. The blocked signal mask is inherited through fork and exec; a Ctrl-C
    that arrives meanwhile is held back and raised as KeyboardInterrupt when the block ends.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()  # started later, it would unblock SIGINT in the thread that starts it
    caught: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


@contextmanager
def _main_module_not_reimported() -> Iterator[None]:
    """Worker processes spawned inside the block do not re-import this program's `__main__` module.

    multiprocessing's spawn re-runs `__main__` (as `__mp_main__`) in every child it starts: under
    `python -m flows.pipeline` or a Prefect worker that is Prefect, torch and every task module, seconds
    per Dask worker. Workers only run seqpipe functions, which they import by name, so they need none of it.
    A worker restarted after the block (a lost worker) imports it again: slower, not different.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__spec__", "__file__") if k in main.__dict__}
    main.__spec__ = None  # what spawn reads to find the module by name
    main.__dict__.pop("__file__", None)  # ... or by path
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


# Modules after whose import a forked worker is unsafe: torch's OpenMP pool hangs a forked child that uses it,
# and Prefect (log shipping, its API client) and a Jupyter kernel (ZeroMQ output) run threads whose locks and
# queues a fork copies in whatever state they are
FORK_UNSAFE_MODULES = ("torch", "prefect", "ipykernel")


def start_method(requested: str | None = None) -> str:
    """How local workers are started: `requested`, else `fork` where it is safe, else `spawn`.

    A forked worker inherits this process's imports (numpy, pyarrow, seqpipe): the 2-worker cluster is up in
    0.24 s instead of 0.56 s plus 0.32 s of imports in each worker's first task, and stops in 0.02 s instead
    of 0.17 s (measured on 2 cores) -- a tenth of a 1x count. `seqpipe stats` imports none of
    FORK_UNSAFE_MODULES, so it forks; flows, trainers and notebooks spawn.

    >>> start_method("spawn")
    'spawn'
    """
    if requested is not None:
        if requested not in ("fork", "spawn", "forkserver"):
            raise ValueError(f"start method {requested!r}: one of fork, spawn, forkserver")
        return requested
    if sys.platform != "linux" or any(name in sys.modules for name in FORK_UNSAFE_MODULES):
        return "spawn"  # macOS: fork is unsafe with its system libraries (Python's own default there is spawn)
    return "fork"


def _renew_offload_executor() -> None:
    """In a forked child: replace distributed's module-level offload pool, whose thread stayed in the parent.

    Workers (de)serialize messages over 10 MiB in that pool; a forked worker inherits the pool object
    without its thread, so the first large transfer between workers waited forever (a refresh that sent a
    partition's counts to another worker hung).
    """
    utils = sys.modules.get("distributed.utils")
    if utils is not None and hasattr(utils, "_offload_executor"):
        utils._offload_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="Dask-Offload")


_fork_hook_registered = False


def _prepare_fork() -> None:
    """Make a fork of this process safe for a Dask worker (idempotent: the hook is registered once)."""
    global _fork_hook_registered
    if not _fork_hook_registered:
        os.register_at_fork(after_in_child=_renew_offload_executor)
        _fork_hook_registered = True


class LazyClient:
    """A `distributed.Client` whose local cluster starts on first use: work that runs in this process (a
    refresh of one or two partitions) never pays for workers (their start: 0.5 s of a 3.8 s refresh, profiled)."""

    def __init__(self, start: Callable[[], Any]) -> None:
        self._start, self._client = start, None

    @property
    def started(self) -> bool:
        """Whether the cluster was started."""
        return self._client is not None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if self._client is None:
            self._client = self._start()
        return getattr(self._client, name)


@contextmanager
def dask_client(workers: int, address: str | None = None, memory_limit: str = "4GiB",
                method: str | None = None) -> Iterator[Any]:
    """A client for `address`, else a `LocalCluster` of `workers` processes bound to 127.0.0.1, started
    when the client is first used (`LazyClient`) the way `start_method(method)` says.

    `workers=0` (and no address) gives an `InlineClient`. A task that kills its worker
    `ALLOWED_FAILURES + 1` times fails with `KilledWorker` (an existing cluster keeps its own setting).
    """
    if address:
        from distributed import Client

        with Client(address) as client:
            yield client
        return
    if workers <= 0:
        yield InlineClient()
        return
    cluster: Any = None
    client: Any = None

    def start() -> Any:
        nonlocal cluster, client
        import dask
        from distributed import Client, LocalCluster

        how = start_method(method)  # decided now: what the process has imported by the first use is what counts

        # the nanny reads the method when it starts a process: a worker restarted after this block (one that
        # died) is spawned, slower to start but running the same code
        # one task at a time per worker (Dask queues 2 on a 1-thread worker by default): a task that kills its
        # worker then takes no innocent partition with it to the KilledWorker verdict
        config = {**_local_worker_config(), "distributed.worker.multiprocessing-method": how,
                  "distributed.scheduler.worker-saturation": 1.0}
        if how == "fork":
            _prepare_fork()
        with _children_block_sigint(), _main_module_not_reimported(), warnings.catch_warnings(), \
                dask.config.set(config):
            # the scheduler's HTTP routes move to a free port when 8787 is taken (another run): nothing to say
            warnings.filterwarnings("ignore", r"Port \d+ is already in use", UserWarning)
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,  # tokenizing holds the GIL: parallelism comes from processes
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                memory_limit=memory_limit,
                scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES},
            )
        client = Client(cluster)
        return client

    failed = True
    try:
        yield LazyClient(start)
        failed = False
    finally:
        # an error or Ctrl-C: stop the workers at once; what the cluster logs meanwhile is noise
        with _logs_muted("distributed") if failed else nullcontext():
            if failed and cluster is not None:
                _kill_workers(cluster)
            for closing in (client, cluster):
                if closing is not None:
                    closing.close()
