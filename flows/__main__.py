"""`python -m flows` (what `make run` calls): the pipeline on its defaults, with Prefect's start-up overlapped.

Without `PREFECT_API_URL`, the first flow run starts a temporary Prefect server in a subprocess and waits for
it (~8 s here); the pipeline's own imports (torch, Dask, DuckDB, ~5 s of CPU) wait in front of that. Starting
the server first, in a thread, lets both happen at once on two cores. `python -m flows.pipeline` runs the same
flow without the overlap.
"""

from __future__ import annotations

import threading


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


def main() -> None:
    """Run the whole pipeline and print where its outputs are."""
    starting = _start_temporary_server()
    from flows.pipeline import pipeline  # the heavy imports, while the server starts

    if starting is not None:
        starting.join()  # a flow run must not find the server half-started
    result = pipeline()
    print(f"snapshot:   {result['snapshot']}\nrun folder: {result['run_dir']}\nreport:     {result['report']}")


if __name__ == "__main__":
    main()
