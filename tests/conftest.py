"""Test-wide setup: local data folder, quiet offline Prefect, one torch thread."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()

os.environ.setdefault("SEQPIPE_DATA_DIR", str(SHARED_DATA))
os.environ.setdefault("SEQPIPE_OFFLINE", "true")
os.environ.setdefault("SEQPIPE_CACHE_DIR", tempfile.mkdtemp(prefix="seqpipe-cache-"))
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="seqpipe-prefect-"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    # two OpenMP threads collapse 10x when pytest or a Dask worker uses the other core
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    torch.set_num_threads(1)
    yield


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data: the corpora and series every developer machine and CI has. Missing is a failure."""
    data = Path(os.environ["SEQPIPE_DATA_DIR"])
    assert (data / "timemachine.txt").is_file(), f"shared data not found at {data} (set SEQPIPE_DATA_DIR)"
    return data
