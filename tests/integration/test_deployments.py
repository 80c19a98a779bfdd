"""End to end as a user runs it: `prefect deploy --all`, a process worker, `prefect deployment run`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pandas as pd
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
def deployed(prefect_server, tmp_path_factory):
    pool = prefect_server.prefect("work-pool", "create", "seqpipe-process", "--type", "process")
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deploy = prefect_server.prefect("--no-prompt", "deploy", "--all")  # from the checkout, as the README says
    assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
    # the tests start every run by hand: a scheduled one must not race them (the nightly 03:00 UTC refresh,
    # picked up by the worker seconds early, took the deployment's one slot and CANCEL_NEW cancelled the
    # test's own run at 02:59:55)
    paused = prefect_server.prefect("--no-prompt", "deployment", "schedule", "pause", "--all")
    assert paused.returncode == 0, paused.stdout[-3000:] + paused.stderr[-3000:]
    waiting = prefect_server.prefect("flow-run", "ls", "--state-type", "SCHEDULED", "-o", "json")
    assert waiting.returncode == 0 and json.loads(waiting.stdout or "[]") == [], waiting.stdout[-2000:]
    # a plain worker, started elsewhere: the deployments' own pull step brings the runs into the checkout
    worker = subprocess.Popen([str(Path(os.sys.executable).parent / "prefect"), "worker", "start", "--pool",
                               "seqpipe-process"], env=prefect_server.env, cwd=tmp_path_factory.mktemp("elsewhere"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    yield prefect_server, worker
    os.killpg(worker.pid, signal.SIGTERM)
    try:
        # Prefect 3.9's worker logs "Sending SIGINT to the process worker" on SIGTERM or SIGINT and then does
        # not exit (still up after 30 s): a long wait here only idles, so a short one before the kill
        worker.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)


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
    assert str(ROOT) in inspect.stdout  # the pull step `prefect deploy` recorded: runs in this checkout


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


def test_whole_pipeline_deployment_completes_with_a_report(deployed, tmp_path, shared_data):
    server, _ = deployed
    out = tmp_path / "out"
    run = _run(server, "seqpipe/default", f"out={json.dumps(str(out))}", 'ngram={"workers": 1}',
               "lm_orders=[2, 3]", "char_lm_orders=[3]", 'rnn_data={"max_tokens": 20000}', 'rnn_models=["gru"]',
               'rnn_model={"hidden": 32}', 'rnn_train={"epochs": 1, "threads": 1, "optimizer": "adam", "lr": 0.01}',
               'series={"train": {"epochs": 2}}')
    assert run.returncode == 0 and "Completed" in run.stdout, run.stdout[-3000:] + run.stderr[-2000:]
    (run_dir,) = [p for p in (out / "runs").iterdir() if p.is_dir() and not p.name.startswith(".")]
    index = pd.read_parquet(out / "runs" / "index.parquet")  # the runs index lists it beside its report
    assert index["run_id"].tolist() == [run_dir.name] and index["report"].tolist() == [f"{run_dir.name}/report.html"]
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    for section in ("Corpus", "Language models", "Series", "ngram-mkn-o3", "gru"):
        assert section in html
    assert json.loads((run_dir / "run.json").read_text())["config"]["rnn_models"] == ["gru"]


def _flow_run_id(output: str) -> str:
    for line in output.splitlines():
        if "UUID:" in line:
            return line.split("UUID:")[1].strip()
    raise AssertionError(f"no flow run id in: {output[-2000:]}")


def _final_state(server, flow_run_id: str, timeout: float = 300) -> str:
    # the REST API, not `prefect flow-run inspect`: a CLI start-up per poll took seconds of CPU from the runs
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{server.api_url}/flow_runs/{flow_run_id}", timeout=10) as resp:
                state = (json.load(resp).get("state") or {}).get("type", "")
        except OSError:
            state = ""
        if state in ("COMPLETED", "FAILED", "CANCELLED", "CRASHED"):
            return state
        time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} did not finish in {timeout} s")


def test_two_refreshes_at_once_one_runs_the_other_is_cancelled(deployed, tmp_path, shared_data):
    server, _ = deployed
    params = ["--param", f"out={json.dumps(str(tmp_path / 'out'))}", "--param",
              'corpus={"sources": ["tinyshakespeare", "timemachine"], "name": "both"}', "--param",
              'ngram={"workers": 1}']
    ids = [_flow_run_id(server.prefect("deployment", "run", "corpus-refresh/scheduled", *params).stdout)
           for _ in range(2)]
    states = sorted(_final_state(server, i) for i in ids)
    assert states == ["CANCELLED", "COMPLETED"], states  # concurrency_limit 1 with CANCEL_NEW
    snapshots = list((tmp_path / "out" / "corpus" / "both" / "snapshots").iterdir())
    assert len(snapshots) == 1
