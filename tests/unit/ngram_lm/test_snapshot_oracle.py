"""The snapshot estimator on random small corpora against the plain-Python lmplz oracle (orders 1-5)."""

from __future__ import annotations

import math
import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lmplz_oracle import oracle, oracle_logprobs
from split_snapshot import write_split_snapshot

from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.estimate import estimate_snapshot

WORDS = ["a", "b", "c", "d", "e"]
sentences = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=7), min_size=1, max_size=10)
held_out = st.lists(st.lists(st.sampled_from([*WORDS, "zz"]), min_size=1, max_size=6), min_size=1, max_size=4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(train=sentences, test=held_out, order=st.integers(1, 5))
def test_matches_the_plain_python_oracle(train, test, order):
    lines = [" ".join(s) for s in train + test]
    fraction = (len(train) + 0.5) / len(lines)  # int(fraction * lines) == len(train)
    with tempfile.TemporaryDirectory() as tmp:
        snap = write_split_snapshot(lines, tmp, (fraction,), orders=order, parts=3)
        run = estimate_snapshot(snap, NgramLMConfig(order=order), "8GiB", work_dir=tmp, threads=1)
    ref = oracle(train, order)
    ours = [d for triple in run.discounts for d in triple]
    assert ours == pytest.approx([d for k in range(1, order + 1) for d in ref[2][k]], abs=1e-6)
    logp = oracle_logprobs(ref, test, order)
    oovs = sum(w not in {x for s in train for x in s} for s in test for w in s)
    assert (run.test.tokens, run.test.oovs, run.test.lines) == (len(logp), oovs, len(test))
    assert run.test.nll == pytest.approx(-math.fsum(logp), rel=1e-6)  # float32 discounts vs the oracle's float64
