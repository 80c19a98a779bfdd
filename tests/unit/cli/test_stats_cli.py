"""`seqpipe stats` and `seqpipe top` as a user runs them: output format, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import random
import signal
import string
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest


def seqpipe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqpipe", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_stats_prints_snapshot_path_last_and_top_reads_it(tmp_path, shared_data):
    run = seqpipe("stats", "timemachine", "--out", str(tmp_path), "--workers", "2", "--blocksize", "64KiB",
                  "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    snapshot = Path(lines[-1])
    assert (snapshot / "_manifest.json").is_file()
    summary = json.loads(lines[-2])
    assert summary["totals"]["1"]["ngrams"] == 32775 and summary["vocab_size"] == 4580
    top = seqpipe("top", str(snapshot), "--n", "2", "--k", "3", cwd=tmp_path)
    assert top.stdout.splitlines() == ["of the\t309", "in the\t169", "i had\t130"]


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    cases = [
        (["stats", str(tmp_path / "missing.txt"), "--out", str(tmp_path)], "no such file"),
        (["stats", "timemachine", "--orders", "0,2"], "between 1 and 5"),
        (["stats", "timemachine", "--boundary", "sentence"], "boundary"),
        (["stats", "timemachine", "--blocksize", "lots"], "size"),
        (["top", str(tmp_path)], "not a snapshot"),
        (["stats", "timemachine", "--workers", "abc"], "valid integer"),
        (["stats", "timemachine", "--bogus"], "No such option"),
        (["no-such-command"], "No such command"),
    ]
    with ThreadPoolExecutor(2) as pool:  # eight independent start-ups while pytest only waits: use both cores
        runs = list(pool.map(lambda args: seqpipe(*args, cwd=tmp_path), [args for args, _ in cases]))
    for (args, message), run in zip(cases, runs, strict=True):
        assert run.returncode == 2, (args, run.stderr)
        assert message in run.stderr, (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr


def _main(capsys, *args: str) -> tuple[int, str, str]:
    from seqpipe.cli import main

    try:
        main(list(args))
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_summary_line_gives_the_vocabulary_that_was_written(tmp_path, capsys, shared_data):
    # issue 14 row 7: with --min-freq the summary said the distinct tokens + 1, --json and vocab.parquet the cut
    code, out, err = _main(capsys, "stats", "timemachine", "--out", str(tmp_path), "--min-freq", "5",
                           "--workers", "0", "--orders", "1", "--json")
    assert code == 0, err
    size = json.loads(out.strip().splitlines()[-2])["vocab_size"]
    assert f"vocab {size:,};" in err and size < 4580
    assert len(pd.read_parquet(Path(out.strip().splitlines()[-1]) / "vocab.parquet")) == size


def test_workers_are_capped_to_the_cores_and_partitions_with_a_note(tmp_path, capsys, monkeypatch):
    # issue 14 row 4: --workers 100 started 100 processes for a 26 KB file on 2 cores
    import seqpipe.parallel  # `stats` imports dask_client from here when it runs

    started = []
    monkeypatch.setattr(seqpipe.parallel, "dask_client", lambda n, *a: started.append(n) or _inline())
    (tmp_path / "small.txt").write_text("the time machine\n" * 1500)
    code, _, err = _main(capsys, "stats", str(tmp_path / "small.txt"), "--out", str(tmp_path / "o"),
                         "--workers", "100")
    assert code == 0, err
    assert started == [1] and "seqpipe: note: --workers 100 lowered to 1 (" in err and "1 partition)" in err


def _inline():
    from contextlib import nullcontext

    from seqpipe.parallel import InlineClient

    return nullcontext(InlineClient())


def test_a_locked_corpus_is_refused_before_any_worker_starts(tmp_path, capsys, monkeypatch):
    # issue 14 row 10: the cluster started (and Dask printed its port warning) before the lock was checked
    import threading

    import seqpipe.parallel
    from seqpipe.ngrams import store

    monkeypatch.setattr(seqpipe.parallel, "dask_client", lambda *a: pytest.fail("a cluster was started"))
    (tmp_path / "c.txt").write_text("the time machine\n")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.corpus_lock(tmp_path / "o" / "corpus" / "c"):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(30)
        code, out, err = _main(capsys, "stats", str(tmp_path / "c.txt"), "--out", str(tmp_path / "o"))
    finally:
        release.set()
        holder.join()
    assert code == 2 and out == "" and err.count("\n") == 1
    assert err.startswith("seqpipe: error: another run is writing corpus 'c'")


def test_an_output_root_that_is_a_file_or_read_only_is_said_in_plain_words(tmp_path, capsys, monkeypatch):
    # issue 14 row 13: '[Errno 20] Not a directory' and '[Errno 30] Read-only file system'
    (tmp_path / "c.txt").write_text("the time machine\n")
    code, _, err = _main(capsys, "stats", str(tmp_path / "c.txt"), "--out", str(tmp_path / "c.txt"))
    assert code == 2 and err == f"seqpipe: error: output root {tmp_path / 'c.txt'} is a file, not a folder\n"
    code, _, err = _main(capsys, "stats", str(tmp_path / "c.txt"), "--out", str(tmp_path / "c.txt" / "out"))
    assert code == 2 and "is a file, not a folder" in err and "Errno" not in err
    monkeypatch.setattr("os.access", lambda path, mode: False)  # what a read-only mount answers, even to root
    code, _, err = _main(capsys, "stats", str(tmp_path / "c.txt"), "--out", str(tmp_path / "ro"))
    assert code == 2 and err.startswith(f"seqpipe: error: output root {tmp_path / 'ro'} is read-only")
    assert not (tmp_path / "ro").exists()


def test_ctrl_c_mid_run_is_one_line_and_exit_130(tmp_path):
    # issue 14 row 5: Ctrl-C printed 36-102 lines of Dask tracebacks and took 5 s
    rng = random.Random(0)
    words = ["".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 9))) for _ in range(20000)]
    lines = "".join(" ".join(rng.choices(words, k=10)) + "\n" for _ in range(5000))
    (tmp_path / "big.txt").write_text(lines * 20)  # 6 MB: seconds of counting on two workers
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "seqpipe", "stats", str(tmp_path / "big.txt"), "--out", str(out),
                            "--workers", "2", "--blocksize", "512KiB"], cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)
    snapshots = out / "corpus" / "big" / "snapshots"
    deadline = time.monotonic() + 120
    while not list(snapshots.glob(".staging-*")) and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # counting has started: the cluster is up and the staging folder made
    assert run.poll() is None, run.stderr.read()
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: the whole foreground process group
    stopped = time.monotonic()
    stdout, stderr = run.communicate(timeout=60)
    assert run.returncode == 130 and stdout == ""
    assert stderr == "seqpipe: interrupted; LATEST unchanged\n"
    assert time.monotonic() - stopped < 20 and not (out / "corpus" / "big" / "LATEST").exists()  # ~2 s when idle
