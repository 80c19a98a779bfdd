"""add-k and MLE: a hand-computed example, infinite perplexity made explicit, the uniform baseline."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference_lm.lm import count_lm, estimate
from reference_lm.lm_counts import BOS_ID, count_ngrams, encode_eval
from reference_lm.lm_eval import evaluate

from seqpipe.ngram_lm.config import NgramLMConfig

TRAIN = ["a b a", "b a"]  # <s> a b a </s> / <s> b a </s>; |V| = {a, b, </s>, <unk>} = 4


def test_add_one_bigram_by_hand():
    # C(<s>)=2, C(a .)=3 (a b, a </s>, a </s>), C(b .)=2 (b a, b a)
    model = count_lm(count_ngrams(TRAIN, order=2), k=1.0)
    logp = model.token_logprobs(encode_eval(["a b zz"], model.vocab))  # <s> a b <unk> </s>
    expected = [
        (1 + 1) / (2 + 4),  # p(a | <s>): C(<s> a) = 1
        (1 + 1) / (3 + 4),  # p(b | a): C(a b) = 1
        (0 + 1) / (2 + 4),  # p(<unk> | b)
        1 / 4,  # p(</s> | <unk>): unseen context -> uniform
    ]
    assert np.exp(logp) == pytest.approx(expected)
    ppl = evaluate(model, ["a b zz"])
    assert ppl.ppl_incl_oov == pytest.approx(math.exp(-sum(map(math.log, expected)) / 4))
    excl = [expected[0], expected[1], expected[3]]
    assert ppl.ppl_excl_oov == pytest.approx(math.exp(-sum(map(math.log, excl)) / 3))
    assert (ppl.oovs, ppl.tokens, ppl.uniform_ppl) == (1, 4, 4.0)


def test_add_k_unigram_by_hand():
    model = count_lm(count_ngrams(TRAIN, order=1), k=0.5)
    # 7 predicted training tokens: a 3, b 2, </s> 2; p(w) = (C(w) + 0.5) / (7 + 0.5 * 4)
    assert np.exp(model.token_logprobs(encode_eval(["b"], model.vocab))) == pytest.approx([2.5 / 9, 2.5 / 9])
    dist = model.next_distribution([BOS_ID])
    assert dist.sum() == pytest.approx(1.0) and dist[0] == pytest.approx(0.5 / 9)


def test_add_k_distributions_sum_to_one_for_every_context():
    model = count_lm(count_ngrams(["a b c a", "c c b"], order=3), k=0.1)
    for history in ([BOS_ID], [BOS_ID, 3], [3, 4], [0, 0], [5, 3]):
        assert model.next_distribution(history).sum() == pytest.approx(1.0)


def test_mle_is_infinite_on_unseen_events_and_says_how_many():
    model = count_lm(count_ngrams(TRAIN, order=2))
    assert model.smoothing == "mle"
    seen = evaluate(model, ["b a"])  # p(b|<s>) = 1/2, p(a|b) = 1, p(</s>|a) = 2/3
    assert seen.ppl_incl_oov == pytest.approx((0.5 * 1 * 2 / 3) ** (-1 / 3))
    unseen = evaluate(model, ["b b", "a zz"])
    assert math.isinf(unseen.ppl_incl_oov) and math.isinf(unseen.ppl_excl_oov)
    # b b: p(b|b) = 0, p(</s>|b) = 0; a zz: p(<unk>|a) = 0 (an OOV), then the context <unk> is unseen
    assert (unseen.zero_prob_tokens, unseen.zero_prob_excl_oov, unseen.oovs) == (4, 3, 1)
    with pytest.raises(ValueError, match="never seen"):
        model.next_distribution([0])


def test_estimate_dispatches_on_the_config():
    counts = count_ngrams(TRAIN, order=2)
    assert estimate(counts, NgramLMConfig(order=2, smoothing="addk", k=2.0)).k == 2.0  # type: ignore[attr-defined]
    assert estimate(counts, NgramLMConfig(order=2, smoothing="mle")).smoothing == "mle"
    with pytest.raises(ValueError, match="order 2"):
        estimate(counts, NgramLMConfig(order=3))
