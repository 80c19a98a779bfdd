"""Dask worker faults while counting: a worker killed with SIGKILL, a task that fails once, a file that
kills its worker every time. Counts must equal a clean run's exactly, or the run must fail, bounded in
time, naming the file."""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest
from reliability.faults import FaultPlugin, attempts, fault_root, running
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.corpus.errors import CorpusError
from seqpipe.ngrams import store
from seqpipe.parallel import dask_client

pytestmark = pytest.mark.reliability

ORDERS = (1, 2, 3)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, shared_data):
    """A clean in-process run over The Time Machine: what every faulty run must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    result = run_count([shared_data / "timemachine.txt"], out, name="tm", blocksize=16 * 1024)
    return {n: snapshot_counters(result.snapshot, n) for n in ORDERS}, result


def assert_same_counts(snapshot, reference) -> None:
    counters, clean = reference
    for n in ORDERS:
        assert snapshot_counters(snapshot, n) == counters[n], f"order {n}"
    manifest, clean_manifest = store.read_manifest(snapshot), store.read_manifest(clean.snapshot)
    assert manifest["totals"] == clean_manifest["totals"]
    assert manifest["summary"]["lines"] == clean_manifest["summary"]["lines"] == 3221


def _count(shared_data, out, client, on_progress=None, **kw):
    from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
    from seqpipe.ngrams.dask_count import count_corpus

    ngram = NgramConfig(blocksize=16 * 1024, workers=2, reuse_counts=False, **kw)
    corpus = CorpusConfig(sources=(str(shared_data / "timemachine.txt"),), name="tm")
    return count_corpus(corpus, TextConfig(), ngram, out, client, on_progress=on_progress)


def kill_when_running(root, kind: str, workers: set[int], killed: dict[str, int]) -> threading.Thread:
    """A thread that SIGKILLs the worker of the first attempt of `kind` seen running after one finished."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            finished = list((root / f"{kind}done").iterdir())
            victims = {i: pid for i, pid in running(root, kind).items() if pid in workers}
            if finished and victims:
                index, pid = min(victims.items())
                os.kill(pid, signal.SIGKILL)
                killed.update(index=index, pid=pid)
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind, workers, method", [("", 2, None), ("merge-", 2, None), ("merge-", 1, None),
                                                   ("", 2, "fork")],
                         ids=["while-counting", "while-merging", "the-only-worker-while-merging", "forked-workers"])
def test_worker_killed_mid_run_gives_exact_counts(tmp_path, shared_data, reference, kind, workers, method):
    root = fault_root(tmp_path / "faults")
    (root / "slow").write_text("0.3")
    (root / "slow-merge").write_text("0.3")
    killed: dict[str, int] = {}
    with dask_client(workers, method=method) as client:
        client.register_plugin(FaultPlugin(root))
        workers_before = set(client.run(os.getpid).values())
        killer = kill_when_running(root, kind, workers_before, killed)
        result = _count(shared_data, tmp_path / "out", client, buckets=4)
        killer.join(timeout=5)
        client.wait_for_workers(workers, timeout=60)
        workers_after = set(client.run(os.getpid).values())
    assert killed, "the kill never happened"
    assert killed["pid"] not in workers_after and not psutil.pid_exists(killed["pid"])
    # the task that was running on the killed worker ran again, in another process
    pids = attempts(root, f"{kind}attempts")[killed["index"]]
    assert len(pids) >= 2 and pids[0] == killed["pid"] and pids[-1] != killed["pid"]
    assert_same_counts(result.snapshot, reference)
    assert store.latest_snapshot(tmp_path / "out", "tm") == result.snapshot


@pytest.mark.timeout(90)
def test_task_failing_once_is_retried_with_exact_counts(tmp_path, shared_data, reference):
    root = fault_root(tmp_path / "faults")
    (root / "fail-once-3").touch()
    with dask_client(2) as client:
        client.register_plugin(FaultPlugin(root))
        result = _count(shared_data, tmp_path / "out", client)
    assert not (root / "fail-once-3").exists(), "the injected failure never fired"
    assert len(attempts(root)[3]) == 2  # the failed attempt and its retry
    assert all(len(pids) == 1 for index, pids in attempts(root).items() if index != 3)
    assert len(attempts(root, "done")[3]) == 1
    assert_same_counts(result.snapshot, reference)


@pytest.mark.timeout(120)
def test_file_that_kills_every_worker_fails_the_run_naming_it(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i in range(4):
        (corpus / f"book-{i}.txt").write_text(f"an ordinary book number {i}\n" * 20)
    (corpus / "z-poison.txt").write_text("this file brings down any worker\n" * 15)
    root = fault_root(tmp_path / "faults")
    (root / "crash" / "z-poison.txt").touch()  # 510 bytes: one partition of its own
    out = tmp_path / "out"
    previous = run_count([corpus / "book-0.txt"], out, name="c")  # a good snapshot to keep
    t0 = time.monotonic()
    with dask_client(2) as client:
        client.register_plugin(FaultPlugin(root))
        with pytest.raises(CorpusError) as failure:
            run_count([corpus], out, client, name="c", blocksize=600, workers=2, reuse_counts=False)
    elapsed = time.monotonic() - t0
    message = str(failure.value)
    assert "z-poison.txt" in message and "book-" not in message
    assert "worker" in message and "each of the 3 times" in message and "\n" not in message
    tries = attempts(root)
    poison = max(tries)  # the last partition holds the poison file
    assert len(tries[poison]) == 3  # README: "after three tries" on fresh workers, then given up: never forever
    assert all(len(set(pids)) == len(pids) for pids in tries.values())  # each try on another process
    assert elapsed < 90
    assert store.latest_snapshot(out, "c") == previous.snapshot
    assert not [p for p in (out / "corpus" / "c" / "snapshots").iterdir() if p.name.startswith(".staging-")]
