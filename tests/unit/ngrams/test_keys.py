"""Row keys against a Counter oracle, on every packing path (shifts, mixed radix, lexsort)."""

from __future__ import annotations

from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.ngrams.keys import bit_widths, count_rows, dense_keys, fits_int64, group_rows, top_indices

# radix 5 is counted with bincount (count_rows) or packs by shifts (group_rows); one or two columns of
# 2**20 + 1 pack by shifts; three columns of 2**20 + 1 and a file column of 3 (as count_partition and the
# merge make them) take 65 bits but their product fits: packed by multiplication; three columns of
# 2**31 - 1 fit neither, so they go through lexsort
RADICES = [5, 2**20 + 1, 2**31 - 1]


@st.composite
def rows(draw):
    n = draw(st.integers(1, 3))
    radix = draw(st.sampled_from(RADICES))
    m = draw(st.integers(1, 40))
    # few distinct values, taken near both ends of the id range, so rows repeat and the top bits are used
    values = st.sampled_from([0, 1, 2, radix - 2, radix - 1])
    cols = [np.array(draw(st.lists(values, min_size=m, max_size=m)), dtype=np.int32) for _ in range(n)]
    counts = np.array(draw(st.lists(st.integers(1, 9), min_size=m, max_size=m)), dtype=np.int64)
    files = np.array(draw(st.lists(st.integers(0, 2), min_size=m, max_size=m)), dtype=np.int32)
    return cols, radix, counts, files


def test_rows_reach_every_path():
    assert dense_keys([3, 5, 5, 5], 1) and not dense_keys([3, 2**20 + 1], 40)
    assert bit_widths([5] * 4) is not None
    assert bit_widths([3, *[2**20 + 1] * 3]) is None and fits_int64([3, *[2**20 + 1] * 3])
    assert not fits_int64(2**31 - 1, 3)


@settings(max_examples=300, deadline=None)
@given(rows())
def test_count_rows_equals_counter(data):
    cols, radix, _, files = data
    cols = [files, *cols]  # a leading file column of its own radix, as count_partition adds
    tuples = list(zip(*(c.tolist() for c in cols)))
    got_cols, got_counts = count_rows(cols, [3] + [radix] * (len(cols) - 1))
    got = list(zip(*(c.tolist() for c in got_cols)))
    assert got == sorted(Counter(tuples))  # sorted, unique
    assert dict(zip(got, got_counts.tolist())) == Counter(tuples)


@settings(max_examples=300, deadline=None)
@given(rows())
def test_group_rows_equals_counter(data):
    cols, radix, counts, files = data
    tuples = list(zip(*(c.tolist() for c in cols)))
    match: Counter = Counter()
    docs: dict[tuple, set[int]] = {}
    for t, c, f in zip(tuples, counts.tolist(), files.tolist()):
        match[t] += c
        docs.setdefault(t, set()).add(f)
    got_cols, got_match, got_docs = group_rows(cols, counts, files, radix)
    got = list(zip(*(c.tolist() for c in got_cols)))
    assert got == sorted(match)
    assert got_match.tolist() == [match[t] for t in got]
    assert got_docs.tolist() == [len(docs[t]) for t in got]
    # a refresh weighs documents (the previous run's -1): every packing path sums the weights per n-gram
    weights = np.array([1, -1, 3], dtype=np.int64)
    _, _, weighted = group_rows(cols, counts, files, radix, file_weights=weights)
    assert weighted.tolist() == [sum(int(weights[f]) for f in docs[t]) for t in got]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 6), max_size=60), st.integers(0, 70))
def test_top_indices_equals_a_full_stable_sort(values, k):
    array = np.array(values, dtype=np.int64)
    oracle = sorted(range(len(values)), key=lambda i: (-values[i], i))[:k]
    assert top_indices(array, k).tolist() == oracle
