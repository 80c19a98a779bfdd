"""Snapshot layout, readers (pandas, DuckDB, Polars), atomic publish, the lock and crash leftovers."""

from __future__ import annotations

import json
from collections import Counter

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest
from unit.ngrams.helpers import run_count

from seqpipe import SCHEMA_VERSION
from seqpipe.corpus import CorpusError
from seqpipe.ngrams import store

TEXT = "the cat sat on the mat\nthe cat ran\n"


@pytest.fixture
def snapshot(tmp_path):
    (tmp_path / "c.txt").write_text(TEXT)
    return run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats").snapshot


def test_layout_and_manifest(snapshot, tmp_path):
    cdir = tmp_path / "out" / "corpus" / "cats"
    assert (cdir / "LATEST").read_text().strip() == snapshot.name
    assert sorted(p.name for p in snapshot.iterdir()) == ["_manifest.json", "_published.json", "_refresh.json", "ngrams",
                                                          "vocab.parquet", "zipf.png"]
    assert sorted(p.name for p in (snapshot / "ngrams").iterdir()) == ["n=1", "n=2", "n=3"]
    manifest = json.loads((snapshot / "_manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION and manifest["kind"] == "ngram-snapshot"
    assert manifest["config"]["text"] == {"normalize": "d2l", "tokens": "word", "boundary": "flat"}
    assert manifest["inputs"][0]["sha256"] and manifest["inputs"][0]["lines"] == 2
    assert manifest["totals"]["2"] == {"ngrams": 8, "distinct": 7}
    schema = pq.read_schema(next((snapshot / "ngrams" / "n=2").glob("*.parquet")))
    assert schema.names == ["w1", "w2", "match_count", "doc_count"]
    assert "count" not in schema.names


def test_w1_statistics_let_a_reader_skip_files(tmp_path):
    # each file's w1 min/max (the sorted column) are in its footer, so DuckDB or pyarrow.dataset skip files
    # whose range excludes a filter
    words = [a + b + c for a in "abcde" for b in "abcdefghijklmnopqrstuvwxyz" for c in "abcdefghijklmnopqrstuvwxyz"]
    (tmp_path / "c.txt").write_text(" ".join(words) + "\n")
    snap = run_count([tmp_path / "c.txt"], tmp_path / "out", name="many").snapshot
    files = sorted((snap / "ngrams" / "n=1").glob("*.parquet"))
    for path in files:
        w1 = pq.read_table(path).column("w1").to_pylist()
        meta = pq.ParquetFile(path).metadata
        assert meta.num_row_groups == 1  # a file is one row group (FILE_ROWS)
        stats = meta.row_group(0).column(0).statistics
        assert stats is not None and stats.has_min_max and (stats.min, stats.max) == (min(w1), max(w1))
    got = duckdb.sql(f"select w1 from read_parquet('{snap}/ngrams/n=1/*.parquet') where w1 between 'bca' and 'bcc'")
    assert sorted(r[0] for r in got.fetchall()) == ["bca", "bcb", "bcc"]


def test_readers_agree(snapshot):
    expected = Counter(zip(*[iter(TEXT.split())] * 1))
    pdf = pd.read_parquet(snapshot / "ngrams" / "n=1")
    assert dict(zip(pdf.w1, pdf.match_count)) == {k[0]: v for k, v in expected.items()}
    rows = duckdb.sql(
        f"SELECT n, w1, w2, match_count FROM read_parquet('{snapshot}/ngrams/n=2/*.parquet', hive_partitioning=true) "
        "ORDER BY match_count DESC, w1, w2 LIMIT 2"
    ).fetchall()
    assert rows == [(2, "the", "cat", 2), (2, "cat", "ran", 1)]
    lf = pl.scan_parquet(f"{snapshot}/ngrams/n=3/*.parquet").filter(pl.col("w1") == "the").collect()
    assert sorted(lf["w2"].to_list()) == ["cat", "cat", "mat"]


def test_files_are_sorted_within_and_across_parts(tmp_path):
    words = ["Zebra", "apple", "Ärger", "été", "bob", "zoo", "Ant", "a", "b", "道", "x1", "x10", "x2"]
    lines = [" ".join(words[(i * 7 + j * 3) % len(words)] for j in range(9)) for i in range(60)]
    (tmp_path / "c.txt").write_text("\n".join(lines) + "\n")
    snap = run_count([tmp_path / "c.txt"], tmp_path / "out", normalize="raw", blocksize=200, buckets=4).snapshot
    for order in (1, 2, 3):
        parts = sorted((snap / "ngrams" / f"n={order}").glob("part-*.parquet"))
        assert len(parts) == 4 and all(pq.read_metadata(p).num_rows for p in parts), order
        keys = [k for p in parts for k in zip(*pq.read_table(p).to_pydict().values())]
        grams = [k[:order] for k in keys]  # in file-name order, then row order
        assert grams == sorted(grams) and len(set(grams)) == len(grams), order  # code-point order, no repeats


def test_unchanged_corpus_publishes_nothing(snapshot, tmp_path):
    again = run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats")
    assert again.unchanged and again.snapshot == snapshot
    assert len(list((tmp_path / "out" / "corpus" / "cats" / "snapshots").iterdir())) == 1
    other_config = run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats", orders=(1, 2))
    assert not other_config.unchanged and other_config.snapshot != snapshot


def test_forced_run_publishes_a_new_snapshot_and_keeps_the_old(snapshot, tmp_path):
    second = run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats", force=True).snapshot
    assert second != snapshot and snapshot.is_dir()
    assert store.latest_snapshot(tmp_path / "out", "cats") == second
    assert store.resolve_snapshot(tmp_path / "out" / "corpus" / "cats") == second


def test_crash_leftovers_are_cleaned_and_latest_untouched(snapshot, tmp_path):
    cdir = tmp_path / "out" / "corpus" / "cats"
    leftover = cdir / "snapshots" / ".staging-20000101T000000Z-dead00"
    (leftover / "ngrams").mkdir(parents=True)
    (leftover / "ngrams" / "half.parquet").write_bytes(b"PAR1 torn")
    assert store.latest_snapshot(tmp_path / "out", "cats") == snapshot
    run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats", force=True)
    assert not leftover.exists()


def test_failed_run_leaves_no_staging_and_keeps_latest(snapshot, tmp_path, monkeypatch):
    from seqpipe.ngrams import dask_count

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(dask_count, "write_snapshot_files", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats", force=True)
    cdir = tmp_path / "out" / "corpus" / "cats"
    assert [p.name for p in (cdir / "snapshots").iterdir()] == [snapshot.name]
    assert store.latest_snapshot(tmp_path / "out", "cats") == snapshot


def test_second_writer_is_refused(snapshot, tmp_path):
    cdir = tmp_path / "out" / "corpus" / "cats"
    with store.corpus_lock(cdir):
        with pytest.raises(CorpusError, match="another run is writing corpus 'cats'"):
            run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats")


@pytest.mark.parametrize("bad", ["../escape", "/abs", "a/b", ""])
def test_corpus_names_cannot_escape_the_output_root(tmp_path, bad):
    with pytest.raises(CorpusError, match="corpus name"):
        store.corpus_dir(tmp_path, bad)


def test_top_reads_ties_alphabetically(snapshot):
    assert store.top_ngrams(snapshot, 1, 3) == [("the", 3), ("cat", 2), ("mat", 1)]
    with pytest.raises(CorpusError, match="no n-grams of order 4"):
        store.top_ngrams(snapshot, 4, 3)


def test_a_count_nested_in_its_own_runs_lock_shares_it(snapshot, tmp_path):
    cdir = tmp_path / "out" / "corpus" / "cats"
    with store.corpus_lock(cdir, nested=True):  # the CLI: locked before any worker starts
        assert run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats").unchanged
    assert run_count([tmp_path / "c.txt"], tmp_path / "out", name="cats").unchanged  # and released
