"""SIGKILL of the whole counting process while it writes a snapshot: `LATEST` still names the previous
complete snapshot, every file it names opens, and the next run cleans up and publishes a correct one."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from unit.ngrams.helpers import run_count

from seqpipe.ngrams import store
from seqpipe.ngrams.history import read_history

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def books(tmp_path_factory, shared_data) -> Path:
    """12.7 MB of Gutenberg text, uncompressed so it is cut into several partitions."""
    path = tmp_path_factory.mktemp("books") / "books.txt"
    path.write_bytes(gzip.decompress((shared_data / "gutenberg" / "books-00.txt.gz").read_bytes()))
    return path


def snapshot_tables(snapshot: Path) -> dict[str, pa.Table]:
    """Every Parquet file the snapshot's manifest names, opened and read."""
    manifest = store.read_manifest(snapshot)
    tables = {"vocab": pq.read_table(snapshot / manifest["files"]["vocab"])}
    for n, files in manifest["files"]["ngrams"].items():
        assert files, f"order {n} names no files"
        tables[n] = pa.concat_tables([pq.read_table(snapshot / f) for f in files])
    return tables


def assert_tables_equal(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].equals(b[key]), key


def seqpipe_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "seqpipe", *args]


def leftovers(cdir: Path) -> list[str]:
    return sorted(p.name for p in [*(cdir / "snapshots").glob(".staging-*"), *cdir.glob(".LATEST.*")])


@pytest.mark.timeout(150)
@pytest.mark.parametrize("workers", [0, 2])
def test_sigkill_while_writing_keeps_the_previous_snapshot(tmp_path, books, shared_data, workers):
    corpus, out = tmp_path / "corpus.txt", tmp_path / "out"
    shutil.copy(shared_data / "timemachine.txt", corpus)
    previous = run_count([corpus], out, name="g")
    before = snapshot_tables(previous.snapshot)
    shutil.copy(books, corpus)  # the refresh that gets killed counts a new, larger corpus
    cdir = out / "corpus" / "g"
    history_before = (cdir / "history.parquet").read_bytes()

    proc = subprocess.Popen(
        seqpipe_cmd("stats", str(corpus), "--out", str(out), "--name", "g", "--workers", str(workers),
                    "--blocksize", "4MiB"),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 100
    written: list[Path] = []
    while proc.poll() is None and time.monotonic() < deadline and not written:
        written = list((cdir / "snapshots").glob(".staging-*/ngrams/n=*/*.parquet"))
        time.sleep(0.005)
    children = psutil.Process(proc.pid).children(recursive=True) if proc.poll() is None else []
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert written, f"the run ended (rc {proc.returncode}) before writing could be interrupted"
    assert proc.returncode == -signal.SIGKILL

    # nothing of the killed run is visible: LATEST and every file it names are the previous snapshot's
    assert (cdir / "LATEST").read_text().strip() == previous.run_id
    assert_tables_equal(snapshot_tables(store.latest_snapshot(out, "g")), before)
    assert [p.name for p in (cdir / "snapshots").iterdir() if not p.name.startswith(".")] == [previous.run_id]
    assert leftovers(cdir), "the kill left no staging folder: it did not land while writing"
    assert (cdir / "history.parquet").read_bytes() == history_before
    _, alive = psutil.wait_procs(children, timeout=15)  # worker processes do not outlive their run
    assert not alive, [p.pid for p in alive]

    again = run_count([corpus], out, name="g", blocksize=4 * 2**20)
    assert leftovers(cdir) == []
    assert store.latest_snapshot(out, "g") == again.snapshot != previous.snapshot
    assert read_history(cdir)["run_id"].tolist() == [previous.run_id, again.run_id]
    fresh = run_count([corpus], tmp_path / "fresh", name="g", blocksize=4 * 2**20, reuse_counts=False)
    assert_tables_equal(snapshot_tables(again.snapshot), snapshot_tables(fresh.snapshot))
    # the killed run had counted every partition: its cached counts were complete and were reused
    assert again.counted_partitions == 0 and again.reused_partitions > 0


# Kill at the exact instants of publishing: patch the step, SIGKILL the process there.
KILL_AT = r'''
import os, signal, sys
import pyarrow.parquet as pq
from seqpipe.ngrams import merge, store

point = sys.argv[1]
merge.FILE_ROWS = int(os.environ.get("FILE_ROWS", merge.FILE_ROWS))  # small files: a refresh can share some


def die():
    os.kill(os.getpid(), signal.SIGKILL)


if point == "torn-parquet":  # a bucket file half written
    def write_table(table, path, **kw):
        pq.write_table(table, path, **kw)
        with open(path, "r+b") as fh:
            fh.truncate(os.path.getsize(path) // 2)
        die()
    merge.pq = type("pq", (), {"write_table": staticmethod(write_table), "SortingColumn": pq.SortingColumn})
elif point == "before-rename":  # the staging folder complete, not yet renamed
    real_rename = os.rename
    os.rename = lambda src, dst, *a, **k: die() if ".staging-" in str(src) else real_rename(src, dst, *a, **k)
elif point == "after-rename":  # the snapshot folder in place, LATEST not yet written
    store.atomic_write_text = lambda path, text: die()
elif point == "latest-temp-written":  # LATEST's temp file written and synced, not yet renamed
    real_replace = os.replace
    os.replace = lambda src, dst, *a, **k: (die() if str(dst).endswith("LATEST")
                                            else real_replace(src, dst, *a, **k))
elif point == "published-marker":  # the snapshot's _published.json written in staging, nothing renamed yet
    from seqpipe.ngrams import history
    real_published = history.write_published
    history.write_published = lambda *a: (real_published(*a), die())
elif point == "history-temp-written":  # LATEST switched, history.parquet's temp file written, not yet renamed
    real_replace = os.replace
    os.replace = lambda src, dst, *a, **k: (die() if str(dst).endswith("history.parquet")
                                            else real_replace(src, dst, *a, **k))
elif point == "delta-merge":  # a refresh merging a previous file with its delta, before any file is written
    from seqpipe.ngrams import delta_merge
    delta_merge.apply_delta = lambda *a, **k: die()
elif point == "delta-link":  # a refresh sharing an unchanged file with the previous snapshot
    from seqpipe.ngrams import delta_merge
    delta_merge.os = type("os", (), {"link": staticmethod(lambda src, dst: (os.link(src, dst), die()))})
elif point == "delta-record":  # every file merged or linked, the refresh record half written
    from seqpipe.ngrams import refresh
    refresh.atomic_write_text = lambda path, text: (open(path, "w").write(text[: len(text) // 2]), die())

from seqpipe.cli import main

main(sys.argv[2:])
'''


@pytest.mark.timeout(60)
@pytest.mark.parametrize("point", ["torn-parquet", "published-marker", "before-rename", "after-rename",
                                   "latest-temp-written"])
def test_sigkill_at_each_publish_step(tmp_path, shared_data, point):
    corpus, out = tmp_path / "corpus.txt", tmp_path / "out"
    shutil.copy(shared_data / "timemachine.txt", corpus)
    previous = run_count([corpus], out, name="tm")
    before = snapshot_tables(previous.snapshot)
    history_before = (out / "corpus" / "tm" / "history.parquet").read_bytes()
    with open(corpus, "a") as fh:
        fh.write("a refresh adds this line\n")
    run = subprocess.run(
        [sys.executable, "-c", KILL_AT, point, "stats", str(corpus), "--out", str(out), "--name", "tm",
         "--workers", "0"], cwd=ROOT, capture_output=True, text=True, timeout=50,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    cdir = out / "corpus" / "tm"
    assert (cdir / "history.parquet").read_bytes() == history_before  # the history is untouched
    assert (cdir / "LATEST").read_text().strip() == previous.run_id
    assert_tables_equal(snapshot_tables(store.latest_snapshot(out, "tm")), before)
    expected_leftover = {"torn-parquet": ".staging-", "before-rename": ".staging-", "after-rename": None,
                         "latest-temp-written": ".LATEST.", "published-marker": ".staging-"}[point]
    if expected_leftover:
        assert any(name.startswith(expected_leftover) for name in leftovers(cdir)), leftovers(cdir)
    if point == "torn-parquet":
        torn = next((cdir / "snapshots").glob(".staging-*/ngrams/n=*/*.parquet"))  # the first bucket file written
        with pytest.raises(pa.ArrowInvalid):
            pq.read_table(torn)

    again = run_count([corpus], out, name="tm")
    assert leftovers(cdir) == []
    assert store.latest_snapshot(out, "tm") == again.snapshot
    fresh = run_count([corpus], tmp_path / "fresh", name="tm", reuse_counts=False)
    assert_tables_equal(snapshot_tables(again.snapshot), snapshot_tables(fresh.snapshot))
    assert again.totals[1]["ngrams"] == previous.totals[1]["ngrams"] + 5
    # one row per published snapshot: the killed run's (an orphan folder after "after-rename") never appears
    rows = read_history(cdir)
    assert rows["run_id"].tolist() == [previous.run_id, again.run_id]
    assert rows["previous_run_id"].tolist()[1] == previous.run_id and rows["tokens"].tolist()[1] == again.totals[1]["ngrams"]
    assert not list(cdir.glob(".history.parquet.*"))


@pytest.mark.timeout(60)
def test_sigkill_while_writing_the_history_keeps_it_whole(tmp_path, shared_data):
    """Killed after `LATEST` moved, before history.parquet was replaced: the file keeps its old rows, byte for
    byte; readers and the next publish add the missing row back from the snapshot chain, never losing one."""
    corpus, out = tmp_path / "corpus.txt", tmp_path / "out"
    shutil.copy(shared_data / "timemachine.txt", corpus)
    previous = run_count([corpus], out, name="tm")
    cdir = out / "corpus" / "tm"
    history_before = (cdir / "history.parquet").read_bytes()
    with open(corpus, "a") as fh:
        fh.write("a refresh adds this line\n")
    run = subprocess.run(
        [sys.executable, "-c", KILL_AT, "history-temp-written", "stats", str(corpus), "--out", str(out),
         "--name", "tm", "--workers", "0"], cwd=ROOT, capture_output=True, text=True, timeout=50,
    )
    assert run.returncode == -signal.SIGKILL, run.stderr
    killed = (cdir / "LATEST").read_text().strip()
    assert killed != previous.run_id  # it was published: LATEST moved before the history write
    assert (cdir / "history.parquet").read_bytes() == history_before
    assert pq.read_table(cdir / "history.parquet").column("run_id").to_pylist() == [previous.run_id]
    assert list(cdir.glob(".history.parquet.*.tmp"))  # the torn-off temp file, never under the real name
    assert read_history(cdir)["run_id"].tolist() == [previous.run_id, killed]  # repaired in memory

    with open(corpus, "a") as fh:
        fh.write("and another one\n")
    again = run_count([corpus], out, name="tm")
    rows = pq.read_table(cdir / "history.parquet").to_pandas()
    assert rows["run_id"].tolist() == [previous.run_id, killed, again.run_id]
    assert rows["previous_run_id"].tolist()[1:] == [previous.run_id, killed]
    assert not list(cdir.glob(".history.parquet.*"))  # the next run removed the temp file
    assert rows["tokens"].tolist() == [previous.totals[1]["ngrams"], previous.totals[1]["ngrams"] + 5,
                                       previous.totals[1]["ngrams"] + 8]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("point", ["delta-merge", "delta-link", "delta-record"])
def test_sigkill_in_an_incremental_refresh_keeps_the_previous_snapshot(tmp_path, shared_data, point):
    """The refresh that merges into the previous snapshot (files shared by hard link) is killed at each step:
    the previous snapshot, its shared files and the history stay as they were; the next run is exact."""
    corpus, out = tmp_path / "books", tmp_path / "out"
    corpus.mkdir()
    lines = (shared_data / "timemachine.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    for i in range(4):
        (corpus / f"part{i}.txt").write_text("".join(lines[i::4]), encoding="utf-8")

    def stats(at: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", KILL_AT, at, "stats", str(corpus), "--out", str(out), "--name",
                               "tm", "--workers", "0", "--blocksize", "64KiB"], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "FILE_ROWS": "4000"})

    assert stats("none").returncode == 0
    cdir = out / "corpus" / "tm"
    previous = store.latest_snapshot(out, "tm")
    before = snapshot_tables(previous)
    assert len(store.read_manifest(previous)["files"]["ngrams"]["3"]) > 3
    stat_before = {p: p.stat().st_mtime_ns for p in previous.rglob("*") if p.is_file()}
    history_before = (cdir / "history.parquet").read_bytes()
    with open(corpus / "part2.txt", "a", encoding="utf-8") as fh:
        fh.write("a refresh adds this line\n")

    run = stats(point)
    assert run.returncode == -signal.SIGKILL, run.stderr  # the kill point lies on the incremental path
    assert (cdir / "LATEST").read_text().strip() == previous.name
    assert (cdir / "history.parquet").read_bytes() == history_before
    assert_tables_equal(snapshot_tables(store.latest_snapshot(out, "tm")), before)
    assert {p: p.stat().st_mtime_ns for p in previous.rglob("*") if p.is_file()} == stat_before  # shared files intact
    assert any(name.startswith(".staging-") for name in leftovers(cdir))

    assert stats("none").returncode == 0
    latest = store.latest_snapshot(out, "tm")
    assert leftovers(cdir) == [] and latest != previous
    assert store.read_manifest(latest)["incremental"]["from_run_id"] == previous.name  # merged, not recounted
    assert read_history(cdir)["run_id"].tolist() == [previous.name, latest.name]
    fresh = run_count([corpus], tmp_path / "fresh", name="tm", reuse_counts=False, blocksize=64 * 2**10)
    assert_tables_equal(snapshot_tables(latest), snapshot_tables(fresh.snapshot))
