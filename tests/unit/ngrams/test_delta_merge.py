"""The bucket merge of a refresh: previous sorted rows + a signed delta equal a count from scratch."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.ngrams import delta_merge
from seqpipe.ngrams.merge import merge_bucket

# a document is a list of (w1, w2) id pairs; a corpus is a list of documents
docs = st.lists(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=12), max_size=5)


def rows(corpus: list[list[tuple[int, int]]]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Per-occurrence rows (count 1, file = document index), as partitions hand them to the merge."""
    pairs = [(g, f) for f, doc in enumerate(corpus) for g in doc]
    cols = [np.array([g[i] for g, _ in pairs], dtype=np.int32) for i in range(2)]
    return cols, np.ones(len(pairs), np.int64), np.array([f for _, f in pairs], dtype=np.int32)


def oracle(corpus: list[list[tuple[int, int]]]) -> dict[tuple[int, int], tuple[int, int]]:
    """(match_count, doc_count) per bigram, by counting in Python."""
    match = Counter(g for doc in corpus for g in doc)
    docs_with = Counter(g for doc in corpus for g in set(doc))
    return {g: (match[g], docs_with[g]) for g in match}


def as_dict(grouped) -> dict[tuple[int, int], tuple[int, int]]:
    cols, match, docs_ = grouped
    keys = list(zip(*(c.tolist() for c in cols)))
    assert keys == sorted(keys)  # the merged rows stay sorted without a sort of the whole bucket
    return dict(zip(keys, zip(match.tolist(), docs_.tolist())))


@settings(max_examples=150, deadline=None)
@given(kept=docs, before=docs, after=docs)
def test_previous_plus_delta_equals_a_recount(kept, before, after):
    """Documents `kept` stay; `before` are replaced by `after` (edited, removed when empty, added)."""
    radix = 6
    previous = delta_merge.signed_delta(2, [rows([])], [rows(kept + before)], radix)  # a count from nothing
    old = rows([[] for _ in kept] + before)  # the same file numbering on each side: documents keep their index
    new = rows([[] for _ in kept] + after)
    delta = delta_merge.signed_delta(2, [old], [new], radix)
    assert as_dict(delta_merge.apply_delta(previous, delta, radix)) == oracle(kept + after)


def test_a_count_that_falls_to_zero_vanishes_and_a_new_row_is_inserted_in_order():
    previous = ([np.array([1, 3], np.int32), np.array([0, 0], np.int32)], np.array([2, 1]), np.array([1, 1]))
    delta = ([np.array([2, 3], np.int32), np.array([5, 0], np.int32)], np.array([4, -1]), np.array([1, -1]))
    cols, match, docs_ = delta_merge.apply_delta(previous, delta, radix=6)
    assert [c.tolist() for c in cols] == [[1, 2], [0, 5]] and match.tolist() == [2, 4] and docs_.tolist() == [1, 1]


def test_a_delta_that_does_not_fit_the_previous_counts_is_refused():
    previous = ([np.array([1], np.int32)], np.array([2]), np.array([1]))
    with pytest.raises(delta_merge.DeltaMismatch):
        delta_merge.apply_delta(previous, ([np.array([1], np.int32)], np.array([-3]), np.array([-1])), radix=4)
    with pytest.raises(delta_merge.DeltaMismatch):  # removing an n-gram the previous snapshot never had
        delta_merge.apply_delta(previous, ([np.array([0], np.int32)], np.array([-1]), np.array([-1])), radix=4)


def test_a_bucket_file_reads_back_in_a_larger_id_space(tmp_path):
    """Ids of a vocabulary with a new word in front: every old id shifts, the rows stay sorted."""
    alpha = np.array(["b", "c", "d"], dtype=object)
    part = ([np.array([2, 0, 0], np.int32), np.array([1, 2, 1], np.int32)], np.ones(3, np.int64),
            np.zeros(3, np.int32))
    [written] = merge_bucket(2, 0, [part], alpha, str(tmp_path))
    wider = np.array(["a", "b", "c", "d", "e"], dtype=object)
    cols, match, _ = delta_merge.read_bucket(written.path, 2, pd.Index(wider))
    assert [c.tolist() for c in cols] == [[1, 1, 3], [2, 3, 2]] and match.tolist() == [1, 1, 1]
    with pytest.raises(delta_merge.DeltaMismatch):  # a token the id space lacks
        delta_merge.read_bucket(written.path, 2, pd.Index(["b", "c"]))


def test_several_files_read_at_once_equal_each_read_alone(tmp_path):
    """`read_buckets` looks each distinct token up once across files: the same ids as file by file."""
    rng = np.random.default_rng(5)
    alpha = np.array(sorted({f"w{i:03d}" for i in range(60)}), dtype=object)
    paths = []
    for b in range(4):
        cols = [rng.integers(0, 60, 200).astype(np.int32) for _ in range(3)]
        part = (cols, np.ones(200, np.int64), rng.integers(0, 3, 200).astype(np.int32))
        folder = tmp_path / f"b{b}"
        folder.mkdir()
        paths += [w.path for w in merge_bucket(3, b, [part], alpha, str(folder))]
    empty_folder = tmp_path / "empty"
    empty_folder.mkdir()
    empty = ([np.empty(0, np.int32)] * 3, np.empty(0, np.int64), np.empty(0, np.int32))
    paths += [w.path for w in merge_bucket(3, 9, [empty], alpha, str(empty_folder))]
    lookup = pd.Index(np.concatenate([["a"], alpha, ["z"]]).astype(object))
    together = delta_merge.read_buckets(paths, 3, lookup)
    for path, (cols, match, docs) in zip(paths, together, strict=True):
        alone_cols, alone_match, alone_docs = delta_merge.read_bucket(path, 3, lookup)
        assert [c.tolist() for c in cols] == [c.tolist() for c in alone_cols]
        assert match.tolist() == alone_match.tolist() and docs.tolist() == alone_docs.tolist()
    assert len(together[-1][1]) == 0 and len(together[0][1]) > 0


def grouped_rows(corpus: list[list[tuple[int, int]]], files: list[int]) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """A partition's rows as counted: one per (n-gram, file), sorted by n-gram then file."""
    counts = Counter((g, f) for doc, f in zip(corpus, files) for g in doc)
    keys = sorted(counts)
    cols = [np.array([g[i] for g, _ in keys], dtype=np.int32).reshape(-1) for i in range(2)]
    return cols, np.array([counts[k] for k in keys], np.int64), np.array([f for _, f in keys], dtype=np.int32)


partitions = st.lists(st.tuples(docs, docs, st.booleans()), min_size=1, max_size=3)


@pytest.mark.parametrize("small_part", [0, 3, 10**9])
@settings(max_examples=150, deadline=None)
@given(parts=partitions, old_edge=docs, new_edge=docs, shift=st.integers(0, 2))
def test_rows_shared_by_both_sides_cancel_without_changing_the_delta(small_part, parts, old_edge, new_edge, shift):
    """The delta with shared rows cancelled first equals the delta of one sort of everything. Partitions as
    counted (sorted, unique per file; a partition may begin with the previous one's last file), before and
    after, n-grams across edges as extra parts, file numbers equal or shifted; parts of any size counted as
    large or small."""
    radix = 6
    old, new = [], []
    for p, (before, after, continues) in enumerate(parts):
        files = [2 * p - 1 if continues and p else 2 * p, 2 * p + 1]
        old.append(grouped_rows(before, [files[i % 2] + shift for i in range(len(before))]))
        new.append(grouped_rows(after, [files[i % 2] for i in range(len(after))]))
    old.append(rows(old_edge))
    new.append(rows(new_edge))
    original = delta_merge.SMALL_PART
    delta_merge.SMALL_PART = small_part
    try:
        fast = delta_merge.signed_delta(2, old, new, radix)
        kept_old, kept_new = delta_merge.cancel_shared_rows(2, old, new, radix)
    finally:
        delta_merge.SMALL_PART = original
    assert as_dict(fast) == as_dict(_signed_delta_without_cancelling(old, new, radix))
    unchanged = all(before == after for before, after, _ in parts) and not old_edge and not new_edge
    if unchanged and shift == 0 and small_part == 0 and not any(c for *_, c in parts[1:]):
        assert all(len(p[1]) == 0 for p in (*kept_old, *kept_new))  # nothing changed: nothing is left to sort


def _signed_delta_without_cancelling(old, new, radix):
    original = delta_merge.cancel_shared_rows
    delta_merge.cancel_shared_rows = lambda order, o, n, r: (o, n)
    try:
        return delta_merge.signed_delta(2, old, new, radix)
    finally:
        delta_merge.cancel_shared_rows = original


@pytest.mark.parametrize("small_part", [0, 2])
def test_a_row_whose_key_an_edge_part_also_holds_does_not_cancel(small_part, monkeypatch):
    """Old side: (1, 2) in file 0 counted twice inside the partition and once across its edge; new side: twice
    inside. The delta is -1 match and 0 documents; cancelling the inside rows would say -1 document. The edge
    part blocks the row as a large part (by its file) or as a small one (by its key)."""
    monkeypatch.setattr(delta_merge, "SMALL_PART", small_part)
    inside = grouped_rows([[(1, 2), (1, 2), (0, 1), (3, 3), (4, 4)]], [0])
    edge = rows([[(1, 2)]])
    delta = delta_merge.signed_delta(2, [inside, edge], [inside, rows([])], radix=6)
    assert as_dict(delta) == {(1, 2): (-1, 0)}
    kept_old, _ = delta_merge.cancel_shared_rows(2, [inside, edge], [inside, rows([])], radix=6)
    assert len(kept_old[0][1]) == (1 if small_part else 4)  # a small part blocks its keys, a large one its files
