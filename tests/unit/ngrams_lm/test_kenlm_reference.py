"""KenLM's figures on The Time Machine (issue 3), and the ARPA round trip through the `kenlm` module."""

from __future__ import annotations

import math

import kenlm
import numpy as np
import pytest
from reference_lm.arpa import read_arpa_counts, write_arpa
from reference_lm.lm_counts import count_ngrams
from reference_lm.lm_eval import evaluate, run_lm

from seqpipe.corpus import load_lines
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.text.split import split_lines

# lmplz -o N + query on timemachine.txt, d2l, word tokens, one sentence per line, 90/10 line split
KENLM = {2: (265.955, 180.083), 3: (258.422, 174.508), 4: (258.079, 174.336), 5: (259.147, 175.083)}
ISSUE_TOLERANCE = 5e-3  # the issue's bar; a faithful implementation lands near 1e-6
TIGHT = 1e-5  # README: "KenLM's figures to 1e-5" (the figures have 6 digits: rounding is < 2e-6)


@pytest.fixture(scope="module")
def runs(shared_data):
    return {order: run_lm("timemachine", NgramLMConfig(order=order)) for order in KENLM}


@pytest.fixture(scope="module")
def test_lines(shared_data):
    return split_lines(load_lines("timemachine", "d2l"), "0.9").test


def test_split_is_the_one_kenlm_was_run_on(runs):
    split = runs[3].split
    assert split["train"] == {"lines": 2575, "tokens": 29634}
    assert split["test"] == {"lines": 273, "tokens": 3141}


@pytest.mark.parametrize("order", sorted(KENLM))
def test_modified_kneser_ney_reproduces_kenlm(runs, order):
    test = runs[order].test
    assert (test.tokens, test.oovs, test.lines) == (3414, 248, 273)
    incl, excl = KENLM[order]
    for ours, ref in ((test.ppl_incl_oov, incl), (test.ppl_excl_oov, excl)):
        assert abs(ours / ref - 1) < ISSUE_TOLERANCE
        assert abs(ours / ref - 1) < TIGHT, f"order {order}: {ours:.4f} vs KenLM {ref}"
    assert test.uniform_ppl == runs[order].model.vocab_size == 4346  # 4,344 train words + </s> + <unk>
    assert test.zero_prob_tokens == 0


def test_only_the_5gram_discounts_fall_back_and_it_is_reported(runs):
    for order, run in runs.items():
        fell = run.model.fallback  # type: ignore[attr-defined]
        assert set(fell) == ({5} if order == 5 else set())
    assert runs[5].model.discounts[4] == (0.5, 1.0, 1.5)  # type: ignore[attr-defined]
    assert "out of [0, 3]" in runs[5].summary()["discount_fallback"]["5"]


def test_distinct_counts_with_sentence_markers_match_lmplz(shared_data):
    counts = count_ngrams(load_lines("timemachine", "d2l"), order=5)
    assert [len(t) for t in counts.tables] == [4582, 20796, 29653, 29417, 27013]


def _kenlm_scores(path, lines):
    model = kenlm.Model(str(path))
    scores = [(lp, oov) for line in lines for lp, _, oov in model.full_scores(line, bos=True, eos=True)]
    log10p = np.array([s for s, _ in scores])
    oov = np.array([o for _, o in scores])
    return log10p, oov


@pytest.mark.parametrize("order", sorted(KENLM))
def test_arpa_round_trip_through_kenlm(runs, test_lines, tmp_path, order):
    model = runs[order].model
    path = write_arpa(model, tmp_path / f"o{order}.arpa")
    log10p, oov = _kenlm_scores(path, test_lines)
    incl = 10 ** (-log10p.sum() / log10p.size)
    excl = 10 ** (-log10p[~oov].sum() / (~oov).sum())
    ours = runs[order].test
    assert log10p.size == ours.tokens and oov.sum() == ours.oovs
    assert max(abs(incl / ours.ppl_incl_oov - 1), abs(excl / ours.ppl_excl_oov - 1)) < TIGHT
    from reference_lm.lm_counts import encode_eval

    mine = model.token_logprobs(encode_eval(test_lines, model.vocab)) / math.log(10)
    assert np.max(np.abs(mine - log10p)) < 1e-5  # token by token, not only on average
    assert read_arpa_counts(path) == {k: len(t) for k, t in enumerate(model.counts.tables, start=1)}


def test_arpa_layout(runs, tmp_path):
    path = write_arpa(runs[2].model, tmp_path / "o2.arpa")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("\\data\\\nngram 1=4347\nngram 2=19197\n\n\\1-grams:\n")
    assert text.endswith("\n\\end\\\n")
    sections = text.split("\n\n")
    unigrams = sections[1].splitlines()[1:]
    bigrams = sections[2].splitlines()[1:]
    assert len(unigrams) == 4347 and len(bigrams) == 19197
    rows = {line.split("\t")[1]: line.split("\t") for line in unigrams}
    assert float(rows["<s>"][0]) == -99 and len(rows["<s>"]) == 3  # context only, with a back-off
    assert float(rows["<unk>"][0]) < 0 and float(rows["</s>"][0]) < 0
    assert all(len(line.split("\t")) == 2 for line in bigrams)  # no back-off at the highest order
    assert abs(sum(10 ** float(r[0]) for w, r in rows.items() if w != "<s>") - 1) < 1e-4


def test_flat_boundary_round_trip(shared_data, tmp_path):
    run = run_lm("timemachine", NgramLMConfig(order=3, boundary="flat"))
    assert run.test.lines == 1 and run.test.tokens == 3141 + 1
    lines = split_lines(load_lines("timemachine", "d2l"), "0.9").test
    log10p, _ = _kenlm_scores(write_arpa(run.model, tmp_path / "flat.arpa"), [" ".join(lines)])
    assert abs(10 ** (-log10p.sum() / log10p.size) / run.test.ppl_incl_oov - 1) < TIGHT
    assert evaluate(run.model, lines).ppl_incl_oov == pytest.approx(run.test.ppl_incl_oov)
