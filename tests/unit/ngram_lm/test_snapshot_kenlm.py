"""The snapshot estimator against KenLM's literal figures on The Time Machine, and its ARPA through `kenlm`."""

from __future__ import annotations

import math

import kenlm
import numpy as np
import pytest
from reference_lm.lm_eval import run_lm
from split_snapshot import write_split_snapshot

from seqpipe.corpus import load_lines
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.estimate import estimate_snapshot
from seqpipe.text.split import split_lines

# lmplz -o N + query on timemachine.txt, d2l, word tokens, one sentence per line, 90/10 line split
KENLM = {2: (265.955, 180.083), 3: (258.422, 174.508), 4: (258.079, 174.336), 5: (259.147, 175.083)}
REL = 1e-5  # KenLM prints 3 decimals: 0.0005 / 175 < 3e-6


@pytest.fixture(scope="module")
def lines(shared_data):
    return load_lines("timemachine", "d2l")


@pytest.fixture(scope="module")
def snapshot(lines, tmp_path_factory):
    return write_split_snapshot(lines, tmp_path_factory.mktemp("tm"), (0.9,), orders=5)


@pytest.fixture(scope="module")
def runs(snapshot, tmp_path_factory):
    out = tmp_path_factory.mktemp("arpa")
    return {order: estimate_snapshot(snapshot, NgramLMConfig(order=order), "8GiB", arpa=out / f"o{order}.arpa", threads=1)
            for order in KENLM}


@pytest.mark.parametrize("order", sorted(KENLM))
def test_reproduces_kenlm_from_the_parquet_counts(runs, order):
    test = runs[order].test
    assert (test.tokens, test.oovs, test.lines, test.zero_prob_tokens) == (3414, 248, 273, 0)
    incl, excl = KENLM[order]
    assert abs(test.ppl_incl_oov / incl - 1) < REL, f"order {order}: {test.ppl_incl_oov:.4f} vs KenLM {incl}"
    assert abs(test.ppl_excl_oov / excl - 1) < REL, f"order {order}: {test.ppl_excl_oov:.4f} vs KenLM {excl}"
    assert test.uniform_ppl == runs[order].vocab_size == 4346


def test_split_sizes_discounts_and_fallback(runs):
    assert runs[3].split == {"train": {"lines": 2575, "tokens": 29634}, "test": {"lines": 273, "tokens": 3141}}
    assert runs[2].ngrams == [4347, 19197]  # the ARPA header lmplz writes
    assert {o: set(r.fallback) for o, r in runs.items()} == {2: set(), 3: set(), 4: set(), 5: {5}}
    assert runs[5].discounts[4] == (0.5, 1.0, 1.5) and "out of [0, 3]" in runs[5].fallback[5]


@pytest.mark.parametrize("order", sorted(KENLM))
def test_same_figures_as_the_in_memory_estimator(runs, order, shared_data):
    ref = run_lm("timemachine", NgramLMConfig(order=order))
    ours = runs[order]
    assert ours.discounts == ref.discounts  # same float32 arithmetic on the same count-of-counts
    assert ours.test.nll == pytest.approx(ref.test.nll, rel=1e-12)
    assert ours.ngrams[1:] == ref.ngrams[1:]


@pytest.mark.parametrize("order", sorted(KENLM))
def test_arpa_loads_in_kenlm_with_the_same_perplexity(runs, lines, order):
    model = kenlm.Model(str(runs[order].arpa))
    assert model.order == order
    test_lines = split_lines(lines, "0.9").test
    scores = [(lp, oov) for line in test_lines for lp, _, oov in model.full_scores(line, bos=True, eos=True)]
    log10p = np.array([s for s, _ in scores])
    oov = np.array([o for _, o in scores])
    incl = 10 ** (-log10p.sum() / log10p.size)
    excl = 10 ** (-log10p[~oov].sum() / (~oov).sum())
    assert (log10p.size, int(oov.sum())) == (3414, 248)
    assert abs(incl / runs[order].test.ppl_incl_oov - 1) < REL and abs(excl / runs[order].test.ppl_excl_oov - 1) < REL
    assert abs(incl / KENLM[order][0] - 1) < REL


def test_arpa_header_counts_and_layout(runs):
    text = runs[2].arpa.read_text(encoding="utf-8")
    assert text.startswith("\\data\\\nngram 1=4347\nngram 2=19197\n\n\\1-grams:\n") and text.endswith("\n\\end\\\n")
    unigrams = text.split("\n\n")[1].splitlines()[1:]
    rows = {line.split("\t")[1]: line.split("\t") for line in unigrams}
    assert len(unigrams) == 4347 and float(rows["<s>"][0]) == -99 and len(rows["<s>"]) == 3
    assert abs(sum(10 ** float(r[0]) for w, r in rows.items() if w != "<s>") - 1) < 1e-4


def test_valid_split_and_flat_boundary_match_the_in_memory_runs(lines, tmp_path, shared_data):
    snap = write_split_snapshot(lines, tmp_path / "v", (0.8, 0.1), orders=3)
    ours = estimate_snapshot(snap, NgramLMConfig(order=3), "8GiB", threads=1)
    ref = run_lm("timemachine", NgramLMConfig(order=3, split="0.8,0.1"))
    assert ours.valid is not None and ref.valid is not None
    for a, b in ((ours.test, ref.test), (ours.valid, ref.valid)):
        assert (a.tokens, a.oovs, a.lines) == (b.tokens, b.oovs, b.lines)
        assert a.ppl_incl_oov == pytest.approx(b.ppl_incl_oov, rel=1e-10)
        assert a.ppl_excl_oov == pytest.approx(b.ppl_excl_oov, rel=1e-10)
    assert ours.split == ref.split and ours.config.split == (0.8, 0.1)
    flat = write_split_snapshot(lines, tmp_path / "f", (0.9,), orders=3, lm_boundary="flat")
    ours = estimate_snapshot(flat, NgramLMConfig(order=3), "8GiB", threads=1)
    ref = run_lm("timemachine", NgramLMConfig(order=3, boundary="flat"))
    assert (ours.test.lines, ours.test.tokens) == (1, 3142) and ours.config.boundary == "flat"
    assert ours.test.ppl_incl_oov == pytest.approx(ref.test.ppl_incl_oov, rel=1e-10)
    assert math.isfinite(ours.test.ppl_excl_oov)
