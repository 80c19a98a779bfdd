"""A refresh reuses unchanged partitions and publishes exactly what a full recount would."""

from __future__ import annotations

import os

import pytest
from unit.ngrams.helpers import run_count, snapshot_counters


def _books(folder, texts):
    folder.mkdir(exist_ok=True)
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")


@pytest.mark.parametrize("boundary", ["flat", "line", "document"])
def test_refresh_equals_full_recount(tmp_path, boundary):
    corpus = tmp_path / "books"
    _books(corpus, {f"{i}.txt": f"book {i} starts here\nthe same words again {i % 3}\n" * (20 + i) for i in range(6)})
    opts = dict(tokens="word", normalize="unicode", boundary=boundary, blocksize=300, orders=(1, 2, 3))
    first = run_count([corpus], tmp_path / "out", name="books", **opts)
    assert first.reused_partitions == 0 and first.counted_partitions > 6

    (corpus / "2.txt").write_text("a changed book\nwith new words\n", encoding="utf-8")  # changed
    os.unlink(corpus / "4.txt")  # removed
    (corpus / "9.txt").write_text("an added book\n", encoding="utf-8")  # added
    refreshed = run_count([corpus], tmp_path / "out", name="books", **opts)
    assert refreshed.reused_partitions > 0 and refreshed.counted_partitions > 0
    assert [len(refreshed.changes[k]) for k in ("added", "changed", "removed")] == [1, 1, 1]

    full = run_count([corpus], tmp_path / "fresh", name="books", reuse_counts=False, **opts)
    assert full.reused_partitions == 0
    for n in (1, 2, 3):
        assert snapshot_counters(refreshed.snapshot, n) == snapshot_counters(full.snapshot, n)
    cached = list((tmp_path / "out" / "corpus" / "books" / "partition-cache").glob("*.npz"))
    assert len(cached) == refreshed.reused_partitions + refreshed.counted_partitions  # stale entries pruned


def test_touched_but_identical_file_is_reused(tmp_path):
    corpus = tmp_path / "c"
    _books(corpus, {"a.txt": "x y z\n", "b.txt": "u v w\n"})
    run_count([corpus], tmp_path / "out", name="c")
    os.utime(corpus / "a.txt", (1, 1))
    again = run_count([corpus], tmp_path / "out", name="c")
    assert again.unchanged  # the content hash decides, not the mtime
