"""A refresh reuses unchanged partitions and publishes exactly what a full recount would."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.ngrams import dask_count, merge, refresh, store


def assert_same_snapshot(refreshed, full, orders=(1, 2, 3)) -> None:
    """Equal rows (match and doc counts), and equal figures in the manifests."""
    for n in orders:
        assert snapshot_counters(refreshed.snapshot, n) == snapshot_counters(full.snapshot, n), n
        table = store.read_ngrams(refreshed.snapshot, n)
        assert table.equals(store.read_ngrams(full.snapshot, n)), n  # the same rows in the same (sorted) order
    a, b = store.read_manifest(refreshed.snapshot), store.read_manifest(full.snapshot)
    for key in ("totals", "top", "zipf", "vocab"):
        assert a[key] == b[key], key
    assert [i["tokens"] for i in a["inputs"]] == [i["tokens"] for i in b["inputs"]]


def _books(folder, texts):
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("boundary", ["flat", "line", "document"])
def test_refresh_equals_full_recount(tmp_path, boundary):
    corpus = tmp_path / "books"
    _books(corpus, {f"{i}.txt": f"book {i} starts here\nthe same words again {i % 3}\n" * (20 + i) for i in range(6)})
    opts = {"tokens": "word", "normalize": "unicode", "boundary": boundary, "blocksize": 300, "orders": (1, 2, 3)}
    first = run_count([corpus], tmp_path / "out", name="books", **opts)
    assert first.reused_partitions == 0 and first.counted_partitions > 6

    (corpus / "2.txt").write_text("a changed book\nwith new words\n", encoding="utf-8")  # changed
    os.unlink(corpus / "4.txt")  # removed
    (corpus / "9.txt").write_text("an added book\n", encoding="utf-8")  # added
    refreshed = run_count([corpus], tmp_path / "out", name="books", **opts)
    assert refreshed.reused_partitions > 0 and refreshed.counted_partitions > 0
    assert [len(refreshed.changes[k]) for k in ("added", "changed", "removed")] == [1, 1, 1]
    assert refreshed.incremental  # merged into the previous snapshot, not merged again from every partition
    incremental = store.read_manifest(refreshed.snapshot)["incremental"]
    assert incremental["from_run_id"] == first.run_id and incremental["partitions_removed"] > 0

    full = run_count([corpus], tmp_path / "fresh", name="books", reuse_counts=False, **opts)
    assert full.reused_partitions == 0 and not full.incremental
    assert_same_snapshot(refreshed, full)
    cached = list((tmp_path / "out" / "corpus" / "books" / "partition-cache").glob("*.npz"))
    assert len(cached) == refreshed.reused_partitions + refreshed.counted_partitions  # stale entries pruned


def test_touched_but_identical_file_is_reused(tmp_path):
    corpus = tmp_path / "c"
    _books(corpus, {"a.txt": "x y z\n", "b.txt": "u v w\n"})
    run_count([corpus], tmp_path / "out", name="c")
    os.utime(corpus / "a.txt", (1, 1))
    again = run_count([corpus], tmp_path / "out", name="c")
    assert again.unchanged  # the content hash decides, not the mtime


def test_refresh_on_dask_workers_equals_a_full_recount(tmp_path, monkeypatch):
    """The incremental path with its tasks on worker processes (small refreshes otherwise stay in-process)."""
    from seqpipe.parallel import dask_client

    monkeypatch.setattr(dask_count, "IN_PROCESS_REFRESH", 0)
    monkeypatch.setattr(dask_count, "IN_PROCESS_SHARE", 0)
    corpus = tmp_path / "books"
    _books(corpus, {f"{i}.txt": f"book {i} starts here\nthe same words again {i % 3}\n" * (20 + i) for i in range(6)})
    opts = {"boundary": "flat", "blocksize": 300, "buckets": 3}
    with dask_client(2) as client:
        run_count([corpus], tmp_path / "out", client=client, name="books", **opts)
        (corpus / "2.txt").write_text("an edited book\nwith aardvarks\n", encoding="utf-8")
        os.unlink(corpus / "4.txt")
        refreshed = run_count([corpus], tmp_path / "out", client=client, name="books", **opts)
    assert refreshed.incremental
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="books", reuse_counts=False, **opts))


def test_a_small_refresh_never_starts_the_local_cluster(tmp_path, monkeypatch):
    """A refresh small enough to run in this process never starts the workers it was given."""
    from seqpipe.parallel import dask_client

    monkeypatch.setattr(dask_count, "IN_PROCESS_REFRESH", 100)  # "small": the edit below touches a few partitions
    corpus = tmp_path / "books"
    _books(corpus, {f"{i}.txt": f"book {i} starts here\nthe same words again {i % 3}\n" * (20 + i) for i in range(6)})
    opts = {"boundary": "flat", "blocksize": 300, "buckets": 3}
    run_count([corpus], tmp_path / "out", name="books", **opts)
    (corpus / "2.txt").write_text("an edited book\nwith aardvarks\n", encoding="utf-8")
    with dask_client(2) as client:
        refreshed = run_count([corpus], tmp_path / "out", client=client, name="books", **opts)
        assert not client.started
    assert refreshed.incremental and refreshed.reused_partitions > 0
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="books", reuse_counts=False, **opts))


def test_an_in_process_refresh_merges_on_as_many_threads_as_workers(tmp_path, monkeypatch):
    """`--workers 2` and a refresh small enough for this process: two threads recount, cache and merge; the
    snapshot equals one thread's and a recount's, and the recounted partitions' cache entries are written."""
    import threading

    from seqpipe.ngrams import delta_merge, partition_cache

    threads: set[str] = set()
    saved: list[str] = []

    def spying(fn, record):
        def spy(*args, **kwargs):
            record(threading.current_thread().name, args)
            return fn(*args, **kwargs)
        return spy

    monkeypatch.setattr(delta_merge, "refresh_bucket", spying(delta_merge.refresh_bucket, lambda t, a: threads.add(t)))
    monkeypatch.setattr(dask_count, "counted_partition", spying(dask_count.counted_partition,
                                                                lambda t, a: threads.add(t)))
    monkeypatch.setattr(partition_cache, "save", spying(partition_cache.save, lambda t, a: saved.append(t)))
    monkeypatch.setattr(dask_count, "usable_cpus", lambda: 2)
    books = {f"{i}.txt": f"book {i} starts here\nthe same words again {i % 3}\n" * (20 + i) for i in range(6)}
    opts = {"boundary": "flat", "blocksize": 300, "buckets": 3}
    refreshed = {}
    for workers in (0, 2):
        corpus = tmp_path / f"books{workers}"
        _books(corpus, books)
        run_count([corpus], tmp_path / f"out{workers}", name="books", workers=workers, **opts)
        (corpus / "2.txt").write_text("an edited book\nwith aardvarks\n", encoding="utf-8")
        threads.clear()
        saved.clear()
        refreshed[workers] = run_count([corpus], tmp_path / f"out{workers}", name="books", workers=workers, **opts)
        assert refreshed[workers].incremental and threads and saved
        assert all(name.startswith("refresh") for name in [*threads, *saved]) == (workers == 2), (threads, saved)
        cache = tmp_path / f"out{workers}" / "corpus" / "books" / "partition-cache"
        record = refresh.read_record(refreshed[workers].snapshot)
        assert {p.stem for p in cache.glob("*.npz")} == {p["key"] for p in record.partitions}
    assert_same_snapshot(refreshed[2], refreshed[0])
    assert_same_snapshot(refreshed[2], run_count([tmp_path / "books2"], tmp_path / "fresh", name="books",
                                                 reuse_counts=False, **opts))


def test_a_mismatch_in_one_thread_stops_the_others_and_merges_in_full(tmp_path, monkeypatch):
    """The first bucket finds the previous snapshot does not fit: buckets not yet started never start, and
    the run merges in full instead, equal to a recount."""
    import time

    from seqpipe.ngrams import delta_merge

    calls = []

    def mismatch_first(*args, **kwargs):
        calls.append(args[:2])
        if len(calls) == 1:
            raise delta_merge.DeltaMismatch("made up for the test")
        time.sleep(0.2)
        return refresh_bucket(*args, **kwargs)

    refresh_bucket = delta_merge.refresh_bucket
    monkeypatch.setattr(dask_count, "usable_cpus", lambda: 2)
    corpus = tmp_path / "books"
    _books(corpus, {f"{i}.txt": f"book {i} starts here\nthe same words again {i % 3}\n" * (20 + i) for i in range(6)})
    opts = {"boundary": "flat", "blocksize": 300, "buckets": 3, "workers": 2}
    run_count([corpus], tmp_path / "out", name="books", **opts)
    (corpus / "2.txt").write_text("an edited book\nwith aardvarks\n", encoding="utf-8")
    monkeypatch.setattr(delta_merge, "refresh_bucket", mismatch_first)
    result = run_count([corpus], tmp_path / "out", name="books", **opts)
    assert not result.incremental
    assert len(calls) <= 3 < 9  # the failed bucket, the one running beside it, at most one more: not all nine
    assert_same_snapshot(result, run_count([corpus], tmp_path / "fresh", name="books", reuse_counts=False, **opts))


def test_a_new_first_word_and_a_vanishing_ngram(tmp_path):
    """A word sorting before all others shifts every id; an n-gram only a removed file had must vanish."""
    corpus = tmp_path / "c"
    _books(corpus, {"a.txt": "mm nn oo\n" * 30, "b.txt": "pp qq mm\n" * 30, "c.txt": "gone for good\n" * 5,
                    "d.txt": "nn oo pp\n" * 30})
    opts = {"blocksize": 64, "buckets": 3}
    run_count([corpus], tmp_path / "out", name="c", **opts)
    (corpus / "b.txt").write_text("pp qq mm\n" * 29 + "aardvark pp qq\n", encoding="utf-8")
    os.unlink(corpus / "c.txt")
    refreshed = run_count([corpus], tmp_path / "out", name="c", **opts)
    assert refreshed.incremental
    match, _ = snapshot_counters(refreshed.snapshot, 3)
    assert ("aardvark", "pp", "qq") in match and not any("gone" in g or "good" in g for g in match)
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="c", reuse_counts=False, **opts))


def test_a_bucket_without_changes_is_shared_not_rewritten(tmp_path):
    corpus = tmp_path / "c"
    _books(corpus, {"a.txt": "aa ab ac\n" * 50, "z.txt": "zz zy zx\n" * 50})
    opts = {"blocksize": 64, "buckets": 2, "boundary": "line"}
    first = run_count([corpus], tmp_path / "out", name="c", **opts)
    with open(corpus / "z.txt", "a", encoding="utf-8") as fh:
        fh.write("zz zz zz\n")
    refreshed = run_count([corpus], tmp_path / "out", name="c", **opts)
    assert refreshed.incremental
    for n in (1, 2, 3):
        old, new = (s / "ngrams" / f"n={n}" for s in (first.snapshot, refreshed.snapshot))
        shared = {f.name: os.path.samefile(f, old / f.name) for f in new.glob("*.parquet")}
        assert sorted(shared) == sorted(f.name for f in old.glob("*.parquet"))
        assert shared == {name: name.startswith("part-00000-") for name in shared}  # a*: shared, z*: merged
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="c", reuse_counts=False, **opts))


def test_only_the_files_a_change_falls_in_are_rewritten(tmp_path, monkeypatch):
    """Buckets written as many small files: a change near the start of the alphabet leaves the rest shared."""
    monkeypatch.setattr(merge, "FILE_ROWS", 3)
    corpus = tmp_path / "c"
    words = [f"{a}{b}" for a in "bcdefg" for b in "xyz"]
    _books(corpus, {"1.txt": " ".join(words) + "\n", "2.txt": " ".join(reversed(words)) + "\n", "3.txt": "gz bx\n"})
    opts = {"blocksize": 16, "buckets": 2, "boundary": "line"}
    first = run_count([corpus], tmp_path / "out", name="c", **opts)
    (corpus / "3.txt").write_text("aa bx by\n", encoding="utf-8")  # "gz bx" goes, "aa bx by" comes: a new first word
    refreshed = run_count([corpus], tmp_path / "out", name="c", **opts)
    assert refreshed.incremental
    for n in (1, 2, 3):
        old, new = (s / "ngrams" / f"n={n}" for s in (first.snapshot, refreshed.snapshot))
        files = sorted(new.glob("*.parquet"))
        assert len(files) > 3
        shared = [f.name for f in files if os.path.samefile(f, old / f.name)]
        assert 0 < len(shared) < len(files), n
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="c", reuse_counts=False, **opts))


def test_an_unchanged_file_whose_crossing_ngrams_change_keeps_exact_doc_counts(tmp_path):
    """flat: `y z` is in a.txt twice, once inside and once across into b.txt; b.txt's edit takes one away.

    a.txt's partition did not change, yet its doc_count for `y z` is only right if its rows are read too.
    """
    corpus = tmp_path / "c"
    _books(corpus, {"a.txt": "y z x y\n", "b.txt": "z w\n", "c.txt": "v v\n"})
    opts = {"blocksize": 8, "boundary": "flat", "orders": (1, 2, 3)}
    run_count([corpus], tmp_path / "out", name="c", **opts)
    (corpus / "b.txt").write_text("q w\n", encoding="utf-8")
    refreshed = run_count([corpus], tmp_path / "out", name="c", **opts)
    assert refreshed.incremental and store.read_manifest(refreshed.snapshot)["incremental"]["partitions_reread"] == 1
    match, docs = snapshot_counters(refreshed.snapshot, 2)
    assert match[("y", "z")] == 1 and docs[("y", "z")] == 1 and docs[("y", "q")] == 1
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="c", reuse_counts=False, **opts))


def test_previous_counts_gone_from_the_cache_mean_a_full_merge(tmp_path):
    corpus = tmp_path / "c"
    _books(corpus, {f"{i}.txt": f"w{i} x y\n" * 20 for i in range(4)})
    run_count([corpus], tmp_path / "out", name="c", blocksize=64)
    (corpus / "1.txt").write_text("something else\n", encoding="utf-8")
    for entry in (tmp_path / "out" / "corpus" / "c" / "partition-cache").glob("*.npz"):
        entry.unlink()
    refreshed = run_count([corpus], tmp_path / "out", name="c", blocksize=64)
    assert not refreshed.incremental
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="c", reuse_counts=False,
                                              blocksize=64))


@pytest.mark.parametrize("damage", ["rows-gone", "torn"])
def test_a_previous_snapshot_that_disagrees_with_the_cache_means_a_full_merge(tmp_path, damage):
    """Rows missing from the previous snapshot's files (the delta would go negative) or a torn file: the refresh
    merges in full instead of failing or publishing wrong counts."""
    corpus = tmp_path / "c"
    _books(corpus, {f"{i}.txt": f"w{i} x y\n" * 20 for i in range(4)})
    first = run_count([corpus], tmp_path / "out", name="c", blocksize=64)
    for part in (first.snapshot / "ngrams" / "n=2").glob("*.parquet"):
        if damage == "torn":
            part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
        else:
            pq.write_table(pq.read_table(part).slice(0, 0), part)
    (corpus / "1.txt").write_text("something else\n", encoding="utf-8")
    refreshed = run_count([corpus], tmp_path / "out", name="c", blocksize=64)
    assert not refreshed.incremental
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="c", reuse_counts=False,
                                              blocksize=64))


WORDS = st.sampled_from(["a", "b", "c", "d", "zeta", "éa"])
LINES = st.lists(st.lists(WORDS, min_size=0, max_size=6).map(" ".join), min_size=0, max_size=8).map(
    lambda lines: "".join(line + "\n" for line in lines))


@settings(max_examples=12, deadline=None)
@given(boundary=st.sampled_from(["flat", "line", "document"]), before=st.lists(LINES, min_size=2, max_size=6),
       edits=st.lists(st.tuples(st.integers(0, 7), LINES | st.none()), min_size=1, max_size=3))
def test_refresh_equals_a_recount_for_any_edit(boundary, before, edits):
    """Files edited, emptied, removed (None) or added (an index past the end), on every boundary."""
    opts = {"boundary": boundary, "blocksize": 24, "orders": (1, 2, 3), "buckets": 2}
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "c"
        _books(corpus, {f"{i}.txt": text for i, text in enumerate(before)} | {"k.txt": "keep this file\n" * 4})
        run_count([corpus], Path(tmp) / "out", name="c", **opts)
        for index, text in edits:
            path = corpus / f"{index}.txt"
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(text, encoding="utf-8")
        refreshed = run_count([corpus], Path(tmp) / "out", name="c", **opts)
        if refreshed.unchanged:
            return
        full = run_count([corpus], Path(tmp) / "fresh", name="c", reuse_counts=False, **opts)
        assert_same_snapshot(refreshed, full)


@pytest.mark.parametrize("changed, max_bytes, on_workers", [(2, 1 << 20, False), (3, 1 << 20, True), (2, 100, True)])
def test_up_to_an_eighth_of_the_partitions_changed_refreshes_in_this_process(tmp_path, monkeypatch, changed,
                                                                               max_bytes, on_workers):
    """16 one-file partitions: 2 files changed (4 partitions added + removed, a quarter) refresh on this
    process's threads; 3 go to the workers, and so do 2 whose text is over the in-process limit. All equal a
    recount."""
    from seqpipe.parallel import dask_client

    monkeypatch.setattr(dask_count, "IN_PROCESS_REFRESH", 0)  # the share and the size alone decide
    monkeypatch.setattr(dask_count, "IN_PROCESS_BYTES", max_bytes)  # the changed text: 2 x 2 files of 185 bytes
    monkeypatch.setattr(dask_count, "usable_cpus", lambda: 2)
    corpus = tmp_path / "books"
    books = {f"{i:02d}.txt": f"book {i:02d} starts here\nthe same words {i % 3}\n" * 5 for i in range(16)}
    _books(corpus, books)
    opts = {"boundary": "flat", "buckets": 2, "workers": 2, "blocksize": len(books["00.txt"])}  # a file a partition
    run_count([corpus], tmp_path / "out", name="books", **opts)
    for i in range(changed):  # edited, same size: still one partition each
        (corpus / f"{i:02d}.txt").write_text(books[f"{i:02d}.txt"].replace("starts", "begins"), encoding="utf-8")
    with dask_client(2) as client:
        refreshed = run_count([corpus], tmp_path / "out", client=client, name="books", **opts)
        assert client.started == on_workers
    assert refreshed.incremental and refreshed.counted_partitions == changed
    assert_same_snapshot(refreshed, run_count([corpus], tmp_path / "fresh", name="books", reuse_counts=False, **opts))


def test_a_file_that_breaks_during_a_threaded_refresh_is_one_clear_error(tmp_path, monkeypatch):
    """A gzip shard truncated since the last run fails the in-process refresh on its pool's threads with the
    one-line error naming it (not the other files of its partition); nothing is left staged and the previous
    snapshot stays the latest."""
    import gzip

    from seqpipe.corpus.errors import CorpusError

    monkeypatch.setattr(dask_count, "usable_cpus", lambda: 2)
    corpus = tmp_path / "books"
    corpus.mkdir()
    for i in range(8):
        words = " ".join(f"w{(i * 31 + k * 7919) % 10007}" for k in range(20_000)).encode()
        (corpus / f"{i}.txt.gz").write_bytes(gzip.compress(words))
    opts = {"buckets": 2, "workers": 2}
    first = run_count([corpus / "*.txt.gz"], tmp_path / "out", name="books", **opts)
    data = (corpus / "3.txt.gz").read_bytes()
    (corpus / "3.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorpusError, match=r"^\S*/3\.txt\.gz: cannot be read \(EOFError"):  # that file alone,
        run_count([corpus / "*.txt.gz"], tmp_path / "out", name="books", **opts)  # not its partition's eight
    cdir = tmp_path / "out" / "corpus" / "books"
    assert store.latest_snapshot(tmp_path / "out", "books") == first.snapshot
    assert not [p for p in cdir.iterdir() if p.name.startswith(".staging")]
