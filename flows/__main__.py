"""`python -m flows` (what `make run` calls): the pipeline on its defaults, with Prefect's start-up overlapped.

Without `PREFECT_API_URL`, the first flow run starts a temporary Prefect server in a subprocess and waits for
it (~8 s here); the pipeline's own imports (torch, Dask, DuckDB, ~5 s of CPU) wait in front of that. Starting
the server first, in a thread, lets both happen at once on two cores. `python -m flows.pipeline` runs the same
flow without the overlap.

On that temporary server the flow runs send no heartbeats: they let a lasting server mark a crashed run, and
the temporary one dies with this process. Prefect ends each flow run by joining its heartbeat thread, which
sleeps in 1 s steps: ~1.0 s per subflow (an empty subflow took 1.10 s with heartbeats, 0.12 s without;
the pipeline runs six).
"""

from __future__ import annotations

import threading
from contextlib import nullcontext


def _start_temporary_server() -> threading.Thread | None:
    """Start Prefect's temporary server in the background when no API URL is set; None otherwise."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer

    # the same instance the first flow run's client asks for (keyed by port None); its start() is idempotent
    thread = threading.Thread(target=SubprocessASGIServer().start, name="prefect-server-start", daemon=True)
    thread.start()
    return thread


def _no_heartbeats():
    """Prefect settings without flow-run heartbeats, inside the block."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    return temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})


def main() -> None:
    """Run the whole pipeline and print where its outputs are."""
    starting = _start_temporary_server()
    from flows.pipeline import pipeline  # the heavy imports, while the server starts

    # torch.optim's first optimizer imports torch._dynamo (0.75-1.1 s of CPU): here it overlaps the server start
    import torch._dynamo  # noqa: F401

    if starting is not None:
        starting.join()  # a flow run must not find the server half-started
    with _no_heartbeats() if starting is not None else nullcontext():
        result = pipeline()
    print(f"snapshot:   {result['snapshot']}\nrun folder: {result['run_dir']}\nreport:     {result['report']}")


if __name__ == "__main__":
    main()
