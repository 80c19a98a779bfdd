"""The snapshot estimator against the in-memory one: tiny shakespeare (MKN), add-k and MLE, char tokens."""

from __future__ import annotations

import kenlm
import numpy as np
import pytest
from reference_lm.lm_eval import run_lm
from split_snapshot import write_split_snapshot

from seqpipe.corpus import load_lines
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.estimate import estimate_snapshot
from seqpipe.text.split import split_lines


def _same(ours, ref) -> None:
    assert (ours.tokens, ours.oovs, ours.lines, ours.uniform_ppl) == (ref.tokens, ref.oovs, ref.lines, ref.uniform_ppl)
    assert (ours.zero_prob_tokens, ours.zero_prob_excl_oov) == (ref.zero_prob_tokens, ref.zero_prob_excl_oov)
    assert ours.ppl_incl_oov == pytest.approx(ref.ppl_incl_oov, rel=1e-10)
    assert ours.ppl_excl_oov == pytest.approx(ref.ppl_excl_oov, rel=1e-10)


@pytest.fixture(scope="module")
def shakespeare(shared_data, tmp_path_factory):
    lines = load_lines("tinyshakespeare", "d2l")
    return lines, write_split_snapshot(lines, tmp_path_factory.mktemp("tiny"), (0.9,), orders=4)


@pytest.mark.parametrize("order", [2, 4])
def test_tiny_shakespeare_mkn_equals_in_memory_and_kenlm(shakespeare, tmp_path, order):
    lines, snap = shakespeare
    ours = estimate_snapshot(snap, NgramLMConfig(order=order), "8GiB", arpa=tmp_path / "s.arpa", threads=1)
    ref = run_lm("tinyshakespeare", NgramLMConfig(order=order))
    _same(ours.test, ref.test)
    assert ours.discounts == ref.discounts and ours.ngrams[1:] == ref.ngrams[1:]
    assert ours.split == ref.split
    model = kenlm.Model(str(tmp_path / "s.arpa"))
    log10p = np.array([lp for line in split_lines(lines, "0.9").test for lp, _, _ in model.full_scores(line)])
    assert log10p.size == ours.test.tokens
    assert abs(10 ** (-log10p.sum() / log10p.size) / ours.test.ppl_incl_oov - 1) < 1e-5


@pytest.mark.parametrize(("smoothing", "k", "order"), [("addk", 1.0, 1), ("addk", 1.0, 2), ("addk", 0.1, 3),
                                                      ("mle", 1.0, 1), ("mle", 1.0, 3)])
def test_addk_and_mle_equal_the_in_memory_models(shared_data, tmp_path, smoothing, k, order):
    snap = write_split_snapshot(load_lines("timemachine", "d2l"), tmp_path, (0.8, 0.1), orders=order)
    config = NgramLMConfig(order=order, smoothing=smoothing, k=k, split="0.8,0.1")
    ours = estimate_snapshot(snap, config, "8GiB", threads=1, generate=2, seed=3)
    ref = run_lm("timemachine", config)
    _same(ours.test, ref.test)
    _same(ours.valid, ref.valid)  # type: ignore[arg-type]
    assert ours.ngrams == ref.ngrams and ours.summary().keys() == ref.summary().keys()
    assert len(ours.samples) == 2 and all(ours.samples)


def test_char_tokens_equal_the_in_memory_model(shared_data, tmp_path):
    snap = write_split_snapshot(load_lines("timemachine", "d2l"), tmp_path, (0.9,), orders=5, unit="char")
    config = NgramLMConfig(order=5, tokens="char")
    ours = estimate_snapshot(snap, config, "8GiB", threads=1, generate=1)
    ref = run_lm("timemachine", config)
    _same(ours.test, ref.test)
    assert ours.config.tokens == "char" and ours.discounts == ref.discounts
    assert set("".join(ours.samples[0])) <= set("abcdefghijklmnopqrstuvwxyz ")


@pytest.mark.parametrize(("smoothing", "order"), [("mkn", 3), ("addk", 2), ("mle", 3)])
def test_sampling_distributions_equal_the_in_memory_ones(shared_data, tmp_path, monkeypatch, smoothing, order):
    from reference_lm.lm import estimate
    from reference_lm.lm_counts import count_ngrams

    import seqpipe.ngram_lm.estimate as est

    lines = load_lines("timemachine", "d2l")
    snap = write_split_snapshot(lines, tmp_path, (0.9,), orders=order)
    config = NgramLMConfig(order=order, smoothing=smoothing, k=0.5)
    ref = estimate(count_ngrams(split_lines(lines, "0.9").train, order), config)
    histories = [["<s>"], ["<s>", "the"], ["<s>", "the", "time"], ["of", "the"], ["<s>", "i", "said"]]
    seen = {}

    def check(model, n, seed):
        for h in histories:
            mine = model.next_distribution([model.vocab[t] for t in h])
            theirs = ref.next_distribution([ref.vocab[t] for t in h])
            seen[" ".join(h)] = max(abs(mine[model.vocab[t]] - theirs[i]) for i, t in enumerate(ref.vocab.idx_to_token))
            assert mine.sum() == pytest.approx(1.0, abs=1e-9) and mine[1] == 0
        return [["x"]] * n

    monkeypatch.setattr(est, "sample_sentences", check)
    estimate_snapshot(snap, config, "8GiB", threads=1, generate=1)
    assert len(seen) == len(histories) and max(seen.values()) < 1e-12
