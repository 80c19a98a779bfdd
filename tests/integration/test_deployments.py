"""End to end as a user runs it: `prefect deploy --all`, a process worker, `prefect deployment run`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest

from seqpipe.ngrams import store

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]
ROOT = Path(__file__).resolve().parents[2]


def _listening(pids: set[int]) -> list[tuple[str, int, int]]:
    return [(c.laddr.ip, c.laddr.port, c.pid) for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.pid in pids]


def _tree(pid: int) -> set[int]:
    try:
        root = psutil.Process(pid)
        return {pid, *(p.pid for p in root.children(recursive=True))}
    except psutil.Error:
        return set()


@pytest.fixture(scope="module")
def deployed(prefect_server):
    pool = prefect_server.prefect("work-pool", "create", "seqpipe-process", "--type", "process")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_server.prefect("--no-prompt", "deploy", "--all")
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    worker = subprocess.Popen([str(Path(os.sys.executable).parent / "prefect"), "worker", "start", "--pool",
                               "seqpipe-process", "--type", "process"], env=prefect_server.env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    yield prefect_server, worker
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)


def _run(server, name: str, *params: str, timeout: int = 600) -> subprocess.CompletedProcess:
    args = ["deployment", "run", name, "--watch", "--watch-interval", "1", "--watch-timeout", str(timeout)]
    for p in params:
        args += ["--param", p]
    return server.prefect(*args, timeout=timeout + 60)


def test_every_deployment_is_registered(deployed):
    server, _ = deployed
    listing = server.prefect("deployment", "ls")
    for name in ("seqpipe/default", "corpus-refresh/scheduled", "corpus-stats/default", "series-forecast/default"):
        flow, dep = name.split("/")
        assert flow in listing.stdout and dep in listing.stdout, listing.stdout
    inspect = server.prefect("deployment", "inspect", "corpus-refresh/scheduled")
    assert "CANCEL_NEW" in inspect.stdout and "0 3 * * *" in inspect.stdout
    assert str(ROOT) in inspect.stdout  # the explicit pull step: runs in this checkout


def test_scheduled_refresh_runs_and_second_run_reuses(deployed, tmp_path, shared_data):
    server, worker = deployed
    out = tmp_path / "out"
    params = (f"out={json.dumps(str(out))}", 'ngram={"workers": 1, "orders": [1, 2]}')
    first = _run(server, "corpus-refresh/scheduled", *params)
    assert first.returncode == 0 and "Completed" in first.stdout, first.stdout[-3000:] + first.stderr[-2000:]
    snapshot = store.latest_snapshot(out, "timemachine")
    manifest = store.read_manifest(snapshot)
    assert manifest["totals"]["1"]["ngrams"] == 32775
    # services started for the run listen on loopback only
    sockets = _listening(_tree(server.process.pid) | _tree(worker.pid))
    assert sockets and all(ip in ("127.0.0.1", "::1") for ip, _, _ in sockets), sockets
    second = _run(server, "corpus-refresh/scheduled", *params)
    assert second.returncode == 0, second.stdout[-3000:]
    assert store.latest_snapshot(out, "timemachine") == snapshot  # nothing changed: nothing published


def test_wrong_parameter_type_is_rejected_before_a_worker_starts(deployed):
    server, _ = deployed
    bad = _run(server, "corpus-stats/default", 'ngram={"orders": "not a list"}', timeout=60)
    assert bad.returncode != 0
    assert "validation" in (bad.stdout + bad.stderr).lower()
