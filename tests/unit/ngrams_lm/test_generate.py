"""Sampling from n-gram models: seeded, reproducible, and faithful to the model's distribution."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from reference_lm.lm import count_lm, kneser_ney
from reference_lm.lm_counts import BOS_ID, count_ngrams

from seqpipe.ngram_lm.generate import generate, sample_next, sample_sentences

TRAIN = ["the time machine", "the time traveller smiled", "a machine for travelling in time"] * 3


@pytest.fixture(scope="module")
def mkn():
    return kneser_ney(count_ngrams(TRAIN, order=3))


def test_same_seed_same_text_other_seed_other_text(mkn):
    runs = [sample_sentences(mkn, 5, seed=s) for s in (7, 7, 8)]
    assert runs[0] == runs[1]
    assert runs[0] != runs[2]
    assert generate(mkn, ["the"], seed=4) == generate(mkn, ["the"], seed=4)


def test_prefix_is_kept_and_length_is_bounded(mkn):
    out = generate(mkn, ["the", "time"], max_tokens=3, seed=1)
    assert out[:2] == ["the", "time"] and len(out) <= 5
    assert generate(mkn, ["a"], max_tokens=0) == ["a"]
    with pytest.raises(ValueError, match="max_tokens"):
        generate(mkn, max_tokens=-1)


def test_markers_and_unk_are_never_emitted(mkn):
    words = {w for s in sample_sentences(mkn, 50, seed=0) for w in s}
    assert words <= set(" ".join(TRAIN).split())


def test_mle_only_walks_seen_ngrams():
    model = count_lm(count_ngrams(TRAIN, order=3))
    seen = {tuple(line.split()[i : i + 3]) for line in TRAIN for i in range(len(line.split()) - 2)}
    for sentence in sample_sentences(model, 30, seed=3):
        assert all(tuple(sentence[i : i + 3]) in seen for i in range(len(sentence) - 2))
    with pytest.raises(ValueError, match="never seen"):
        generate(model, ["zebra"], seed=0)


def test_draws_follow_the_distribution(mkn):
    rng = np.random.default_rng(0)
    history = [BOS_ID, mkn.vocab["the"]]
    draws = Counter(sample_next(mkn, history, rng, allow_unk=True) for _ in range(4000))
    dist = mkn.next_distribution(history)
    top = int(np.argmax(dist))
    assert draws[top] / 4000 == pytest.approx(dist[top], abs=0.03)
