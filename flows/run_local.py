"""`make run`: `python -m flows.pipeline`, with Prefect's temporary API started while the pipeline imports.

Without PREFECT_API_URL, Prefect starts a temporary API server (a subprocess that migrates a fresh SQLite
database: several seconds) when the first flow runs, after this process has imported Prefect, torch,
matplotlib and every task module (seconds more). Here the server starts first, in a thread, and comes up
during those imports; the flow then finds it running (Prefect keeps one per process). With PREFECT_API_URL
set this is exactly `python -m flows.pipeline`.
"""

from __future__ import annotations

import importlib
import runpy
import threading


def start_temporary_api() -> threading.Thread | None:
    """Start Prefect's temporary API server in a thread when no server is named; None when one is."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_ALLOW_EPHEMERAL_MODE

    if PREFECT_API_URL.value() or not PREFECT_SERVER_ALLOW_EPHEMERAL_MODE.value():
        return None
    from prefect.server.api.server import SubprocessASGIServer  # the server `get_client()` starts and reuses

    thread = threading.Thread(target=SubprocessASGIServer().start, name="prefect-temporary-api", daemon=True)
    thread.start()
    return thread


def main(module: str = "flows.pipeline") -> None:
    """Run `module` as `python -m module` would, its imports overlapping the API server's start."""
    starting = start_temporary_api()
    importlib.import_module(module)  # the slow imports, meanwhile (cached for the run below)
    if starting is not None:
        starting.join()  # a failed start is retried by the flow itself, with Prefect's own error
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
