"""`runs/<run_id>/run.json`: what a pipeline run was asked to do, with which versions, and how long each stage took."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from seqpipe.io import write_json

PACKAGES = ("seqpipe", "torch", "prefect", "dask", "distributed", "pyarrow", "pandas", "numpy")


def versions() -> dict[str, str]:
    """Versions of Python and the packages results depend on."""
    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def write_run_info(run_dir: str | Path, run_id: str, config: dict[str, Any], timings: dict[str, float],
                   outputs: dict[str, Any]) -> Path:
    """Write (or rewrite) `run.json` atomically; `outputs` names where each stage wrote (snapshot, folders).

    Output paths are stored absolute: a path relative to the working directory would be read later
    relative to the run folder (the report resolves relative paths against it).
    """
    outputs = {k: _absolute(v) for k, v in outputs.items()}
    payload = {
        "run_id": run_id,
        "written_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "config": config,
        "versions": versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "outputs": outputs,
    }
    return write_json(Path(run_dir) / "run.json", payload, kind="run-info")


def _absolute(value: Any) -> Any:
    if not isinstance(value, (str, Path)) or not str(value):
        return value
    return os.path.abspath(value)


def read_run_info(run_dir: str | Path) -> dict[str, Any]:
    """The run's `run.json`."""
    return json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
