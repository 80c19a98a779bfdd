"""SEQPIPE_DASK_ADDRESS sends the counting to an existing Dask cluster (scheduler + worker on loopback)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port}")


def test_stats_on_an_existing_cluster_equals_a_local_run(tmp_path, shared_data):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DASK_LOGGING__DISTRIBUTED": "error"}
    procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                               "--dashboard-address", "127.0.0.1:0"], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        _wait_listening(port)
        procs.append(subprocess.Popen([str(BIN / "dask"), "worker", address, "--host", "127.0.0.1", "--nworkers", "1",
                                       "--nthreads", "1", "--dashboard-address", "127.0.0.1:0"], env=env,
                                      start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        remote = subprocess.run([sys.executable, "-m", "seqpipe", "stats", "timemachine", "--out", str(tmp_path / "a"),
                                 "--blocksize", "40KiB", "--json"], env={**env, "SEQPIPE_DASK_ADDRESS": address},
                                capture_output=True, text=True, timeout=240)
        assert remote.returncode == 0, remote.stderr[-2000:]
    finally:
        for p in reversed(procs):
            os.killpg(p.pid, signal.SIGTERM)
            p.wait(timeout=30)
    local = subprocess.run([sys.executable, "-m", "seqpipe", "stats", "timemachine", "--out", str(tmp_path / "b"),
                            "--workers", "0", "--json"], env=env, capture_output=True, text=True, timeout=240)
    summary = [json.loads(run.stdout.strip().splitlines()[-2]) for run in (remote, local)]
    # the address is really used: with the cluster gone the same command fails, in one line, once the 3 s
    # connect timeout (dask key distributed.comm.timeouts.connect, default 30 s) is spent
    gone = subprocess.run([sys.executable, "-m", "seqpipe", "stats", "timemachine", "--out", str(tmp_path / "c")],
                          env={**env, "SEQPIPE_DASK_ADDRESS": address, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"},
                          capture_output=True, text=True, timeout=120)
    assert gone.returncode == 2 and len(gone.stderr.strip().splitlines()) == 1, gone.stderr[-2000:]
    assert summary[0]["totals"] == summary[1]["totals"]
    assert summary[0]["totals"]["3"] == {"ngrams": 32773, "distinct": 29882}
