"""Modified Kneser-Ney against a plain-Python oracle of lmplz's algorithm, discounts, and normalization."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lmplz_oracle import oracle, oracle_logprobs
from reference_lm.lm import kenlm_discounts, kneser_ney
from reference_lm.lm_counts import BOS_ID, EOS_ID, count_ngrams, encode_eval

WORDS = ["a", "b", "c", "d", "e"]
FALLBACK = (0.5, 1.0, 1.5)


sentences = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=7), min_size=1, max_size=10)


@settings(max_examples=60, deadline=None)
@given(train=sentences, test=st.lists(st.lists(st.sampled_from([*WORDS, "zz"]), max_size=6), min_size=1, max_size=4),
       order=st.integers(1, 5))
def test_matches_the_plain_python_oracle(train, test, order):
    lines = [" ".join(s) for s in train]
    model = kneser_ney(count_ngrams(lines, order))
    ref = oracle(train, order)
    ours = [d for triple in model.discounts for d in triple]
    assert ours == pytest.approx([d for k in range(1, order + 1) for d in ref[2][k]], abs=1e-6)
    test = [s for s in test if s]
    if not test:
        return
    ours = model.token_logprobs(encode_eval([" ".join(s) for s in test], model.vocab))
    assert ours == pytest.approx(oracle_logprobs(ref, test, order), abs=1e-5)


@settings(max_examples=40, deadline=None)
@given(train=sentences, order=st.integers(1, 5), data=st.data())
def test_every_next_token_distribution_sums_to_one(train, order, data):
    model = kneser_ney(count_ngrams([" ".join(s) for s in train], order))
    context = data.draw(st.lists(st.sampled_from(range(len(model.vocab))), max_size=4))
    dist = model.next_distribution([BOS_ID, *[c for c in context if c != BOS_ID]])
    assert dist[BOS_ID] == 0 and (dist >= 0).all()
    assert dist.sum() == pytest.approx(1.0, abs=1e-9)


def test_distribution_agrees_with_scoring():
    model = kneser_ney(count_ngrams(["the time machine", "the time traveller", "a machine"] * 4, order=3))
    seq = encode_eval(["the time machine"], model.vocab)
    logp = model.token_logprobs(seq)
    for i in range(1, seq.size):
        assert math.log(model.next_distribution(seq[:i].tolist())[seq[i]]) == pytest.approx(logp[i - 1])
    assert seq[-1] == EOS_ID


def test_kenlm_discount_formula_and_fallbacks():
    d, why = kenlm_discounts([100, 40, 20, 10])
    y = 100 / 180
    assert d == pytest.approx((1 - 2 * y * 40 / 100, 2 - 3 * y * 20 / 40, 3 - 4 * y * 10 / 20), rel=1e-6)
    assert why is None
    assert kenlm_discounts([3, 0, 1, 0]) == ((0.5, 1.0, 1.5), "no n-grams with adjusted count 2")
    assert kenlm_discounts([3, 2, 0, 0], (0.1, 0.2, 0.3)) == ((0.1, 0.2, 0.3), "no n-grams with adjusted count 3")
    assert kenlm_discounts([10, 1, 1, 10])[1] == "discount D2=-0.5 out of [0, 2]"


def test_tiny_corpus_falls_back_and_still_normalizes():
    model = kneser_ney(count_ngrams(["a b"], order=2))
    assert model.fallback == {1: "no n-grams with adjusted count 2", 2: "no n-grams with adjusted count 2"}
    assert model.discounts == [FALLBACK, FALLBACK]
    assert model.next_distribution([BOS_ID]).sum() == pytest.approx(1.0)


def test_unk_gets_the_interpolated_uniform_mass():
    # continuation counts: a 2 ({<s>, b}), b 2 ({a, <s>}), c 1, </s> 2; sum 7; D falls back to 0.5 1 1.5
    model = kneser_ney(count_ngrams(["a b a", "b c"], order=2))
    p, vocab = model.prob[0], model.vocab
    gamma = (0.5 * 1 + 1.0 * 3) / 7
    assert p[0] == pytest.approx(gamma / 5)  # |V| = <unk> </s> a b c
    assert p[vocab["c"]] == pytest.approx((1 - 0.5) / 7 + gamma / 5)
    assert p[vocab["a"]] == pytest.approx((2 - 1.0) / 7 + gamma / 5)
    assert p[BOS_ID] == 0 and p.sum() == pytest.approx(1.0)
    assert np.isfinite(model.token_logprobs(encode_eval(["zz zz"], model.vocab))).all()
