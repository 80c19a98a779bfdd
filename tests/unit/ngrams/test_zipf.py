"""Zipf fits from count-of-counts equal the least-squares fit over the listed frequencies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.ngrams.zipf import fit_zipf, frequencies_at, frequencies_from_count_of_counts, zipf_alpha


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.integers(1, 10_000), st.integers(1, 500), min_size=1, max_size=40),
       st.sampled_from([(1, None), (10, 1000), (3, 7), (1, 2)]))
def test_count_of_counts_fit_equals_the_listed_fit(coc, ranks):
    freqs = frequencies_from_count_of_counts(coc)
    expected = fit_zipf(freqs, *ranks)
    got = zipf_alpha(coc, *ranks)
    assert (got is None) == (expected is None)
    if expected is not None:
        assert got == pytest.approx(expected, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("distinct", [70_000, 3_000_000])
def test_many_ranks_past_the_exact_table(distinct):
    """Beyond 65,536 ranks the sums of (ln r)^2 come from Euler-Maclaurin: still the listed fit."""
    rng = np.random.default_rng(distinct)
    counts = np.sort(rng.zipf(1.4, distinct))[::-1]
    values, times = np.unique(counts, return_counts=True)
    coc = dict(zip(values.tolist(), times.tolist()))
    assert zipf_alpha(coc) == pytest.approx(fit_zipf(counts), rel=1e-9)
    assert zipf_alpha(coc, 10, 1000) == pytest.approx(fit_zipf(counts, 10, 1000), rel=1e-9)
    ranks = np.array([1, 2, 10, distinct // 2, distinct])
    assert frequencies_at(coc, ranks).tolist() == counts[ranks - 1].tolist()
