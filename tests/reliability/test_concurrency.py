"""Readers during refreshes see the old or the new snapshot, never a mix or an error; concurrent writers
of one corpus are refused (one line, exit 2) while one run holds the lock; the result is a single run's."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.corpus.errors import CorpusError
from seqpipe.ngrams import dask_count, store

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]
READS = 1000


def rows_pandas(snapshot: Path) -> list[tuple]:
    frame = pd.read_parquet(snapshot / "ngrams" / "n=2")
    return sorted(zip(frame.w1, frame.w2, frame.match_count.astype(int), frame.doc_count.astype(int)))


def rows_duckdb(con, snapshot: Path) -> list[tuple]:
    return con.execute(
        f"SELECT w1, w2, match_count, doc_count FROM read_parquet('{snapshot}/ngrams/*/*.parquet', "
        "hive_partitioning=true, union_by_name=true) WHERE n = 2 ORDER BY w1, w2"
    ).fetchall()


@pytest.mark.timeout(180)
def test_readers_during_refreshes_see_old_or_new_exactly(tmp_path, shared_data):
    lines = (shared_data / "timemachine.txt").read_text().splitlines()
    versions = {"A": "\n".join(lines[:400]) + "\n", "B": "\n".join(lines[200:600]) + "\n"}
    corpus, out = tmp_path / "c.txt", tmp_path / "out"
    expected, totals = {}, {}
    for name, text in versions.items():  # what each version must read as, counted on its own
        corpus.write_text(text)
        alone = run_count([corpus], tmp_path / f"alone-{name}", name="c")
        expected[name], totals[name] = rows_pandas(alone.snapshot), alone.totals[2]
    assert expected["A"] != expected["B"]
    corpus.write_text(versions["A"])
    run_count([corpus], out, name="c")

    stop, published, writer_errors = threading.Event(), [], []

    def refresh_forever() -> None:
        try:
            while not stop.is_set():
                name = "B" if len(published) % 2 == 0 else "A"
                corpus.write_text(versions[name])
                published.append(run_count([corpus], out, name="c", force=True).run_id)
        except Exception as exc:  # noqa: BLE001 - reported below
            writer_errors.append(repr(exc))

    writer = threading.Thread(target=refresh_forever, daemon=True)
    writer.start()
    con = duckdb.connect()
    cdir = out / "corpus" / "c"
    errors, seen_versions, seen_runs = [], set(), set()
    try:
        for i in range(READS):
            try:
                run_id = (cdir / "LATEST").read_text().strip()
                snapshot = cdir / "snapshots" / run_id
                rows = rows_pandas(snapshot) if i % 2 == 0 else rows_duckdb(con, snapshot)
                manifest = json.loads((snapshot / "_manifest.json").read_text())
                match = [name for name, want in expected.items() if rows == want]
                assert len(match) == 1, f"read {i} of {run_id} equals neither version"
                assert manifest["totals"]["2"] == totals[match[0]], f"read {i}: manifest and data disagree"
                seen_versions.add(match[0])
                seen_runs.add(run_id)
            except Exception as exc:  # noqa: BLE001 - every failure is counted, none may happen
                errors.append(f"read {i}: {exc!r}")
    finally:
        stop.set()
        writer.join(timeout=60)
    assert errors == []
    assert writer_errors == []
    assert seen_versions == {"A", "B"}, "the refreshes did not overlap the reads"
    assert len(published) >= 4 and len(seen_runs) >= 3


@pytest.mark.timeout(120)
def test_concurrent_writers_are_refused_while_one_holds_the_lock(tmp_path, shared_data, monkeypatch):
    corpus, out = tmp_path / "tm.txt", tmp_path / "out"
    corpus.write_text((shared_data / "timemachine.txt").read_text())
    started, gate = threading.Event(), threading.Event()
    real_count = dask_count.count_partition

    def held_open(*args, **kwargs):  # the holder counts only once the test lets it
        started.set()
        assert gate.wait(90)
        return real_count(*args, **kwargs)

    monkeypatch.setattr(dask_count, "count_partition", held_open)
    outcome: dict[str, object] = {}

    def run(tag: str) -> None:
        try:
            outcome[tag] = run_count([corpus], out, name="tm", blocksize=32 * 1024)
        except CorpusError as exc:
            outcome[tag] = exc

    holder = threading.Thread(target=run, args=("holder",))
    holder.start()
    assert started.wait(60), "the first run never started counting"
    command = [sys.executable, "-m", "seqpipe", "stats", str(corpus), "--out", str(out), "--name", "tm",
               "--workers", "0"]
    cli = [subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
           for _ in range(2)]
    others = [threading.Thread(target=run, args=(f"thread-{i}",)) for i in range(2)]
    for t in others:
        t.start()
    for t in others:
        t.join(timeout=60)
    results = [p.communicate(timeout=90) for p in cli]
    gate.set()
    holder.join(timeout=90)

    for p, (stdout, stderr) in zip(cli, results):
        assert p.returncode == 2, stderr
        assert stdout == ""
        assert stderr.count("\n") == 1 and "Traceback" not in stderr
        assert stderr.startswith("seqpipe: error: another run is writing corpus 'tm'"), stderr
    for i in range(2):
        assert isinstance(outcome[f"thread-{i}"], CorpusError)
        assert "another run is writing corpus 'tm'" in str(outcome[f"thread-{i}"])
    result = outcome["holder"]
    assert not isinstance(result, Exception), result
    cdir = out / "corpus" / "tm"
    assert [p.name for p in (cdir / "snapshots").iterdir()] == [result.run_id]  # one writer, nothing else
    assert store.latest_snapshot(out, "tm") == result.snapshot
    single = run_count([corpus], tmp_path / "single", name="tm")
    for n in (1, 2, 3):
        assert snapshot_counters(result.snapshot, n) == snapshot_counters(single.snapshot, n)
    assert run_count([corpus], out, name="tm", blocksize=32 * 1024).unchanged  # the lock was released
