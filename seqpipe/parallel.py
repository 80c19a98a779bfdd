"""Where Dask work runs: an existing scheduler, a local cluster, or inline in this process.

Library code takes a `distributed.Client` or an `InlineClient` (same `submit`/`gather` subset), so
tests can run the exact same graph without starting processes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

# A task whose worker dies this many times plus one fails the run (Dask's KilledWorker) instead of
# being retried forever; one death (a lost or killed worker) is survived with the task rerun elsewhere.
ALLOWED_FAILURES = 2


class InlineFuture:
    """An already-computed result with the `Future` methods the library uses."""

    def __init__(self, value: Any):
        self._value = value

    def result(self) -> Any:
        """The value."""
        return self._value


def _resolve(value: Any) -> Any:
    if isinstance(value, InlineFuture):
        return value.result()
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_resolve(v) for v in value)
    return value


class InlineClient:
    """Runs each submitted function at once in this process (workers=0)."""

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> InlineFuture:
        """Run `fn` now; dask-only keywords (`retries`, `key`, `pure`) are ignored."""
        for name in ("retries", "key", "pure", "priority", "resources"):
            kwargs.pop(name, None)
        return InlineFuture(fn(*_resolve(args), **{k: _resolve(v) for k, v in kwargs.items()}))

    def gather(self, futures: list[InlineFuture]) -> list[Any]:
        """Values of the futures."""
        return [f.result() for f in futures]


def as_completed(client: Any, futures: list[Any]) -> Iterator[Any]:
    """Yield futures as they finish (in order for inline work)."""
    if isinstance(client, InlineClient):
        yield from futures
        return
    from distributed import as_completed as dask_as_completed

    yield from dask_as_completed(futures)


@contextmanager
def dask_client(workers: int, address: str | None = None, memory_limit: str = "4GiB") -> Iterator[Any]:
    """A client for `address`, else a `LocalCluster` of `workers` processes bound to 127.0.0.1.

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
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,  # tokenizing holds the GIL: parallelism comes from processes
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        memory_limit=memory_limit,
        scheduler_kwargs={"allowed_failures": ALLOWED_FAILURES},
    )
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()
