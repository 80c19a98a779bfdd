"""Token ids, sentence padding and n-gram tables against brute force; the fast tokenizer path against the slow."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_lm.lm_counts import (
    BOS,
    EOS,
    UNK,
    count_ngrams,
    encode_eval,
    encode_lines,
    locate,
    lookup_rows,
    pad_sentences,
)

from seqpipe.text.tokenize import tokenize_line


def decode_table(counts, k: int) -> dict[tuple[str, ...], int]:
    """Spell out the order-k table as {n-gram: count} by following context rows down to words."""
    size = len(counts.vocab)
    spelled = [(w,) for w in counts.vocab.idx_to_token]
    for j in range(2, k + 1):
        ctx, word = np.divmod(counts.tables[j - 1].keys, size)
        spelled = [spelled[c] + (counts.vocab.idx_to_token[w],) for c, w in zip(ctx, word)]
    return dict(zip(spelled, counts.tables[k - 1].counts.tolist()))


def brute_force(lines: list[str], k: int) -> Counter:
    out: Counter = Counter()
    for line in lines:
        words = line.split()
        if not words:
            continue
        s = [BOS, *words, EOS]
        out.update(tuple(s[i : i + k]) for i in range(len(s) - k + 1))
    return out


text = st.lists(st.text(alphabet="ab c\t", max_size=12), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None)
@given(lines=text, order=st.integers(1, 5))
def test_tables_are_the_distinct_ngrams_with_their_counts(lines, order):
    if not any(x.split() for x in lines):
        with pytest.raises(ValueError, match="no training text"):
            count_ngrams(lines, order)
        return
    counts = count_ngrams(lines, order)
    for k in range(1, order + 1):
        table = decode_table(counts, k)
        expected = brute_force(lines, k)
        if k == 1:  # the vocabulary: <unk> and <s> are there even with no count as a predicted token
            expected[(UNK,)] += 0
            expected[(BOS,)] = sum(1 for x in lines if x.split())
        assert table == dict(expected)
        assert (np.diff(counts.tables[k - 1].keys) > 0).all()
        if k > 1:  # suffix rows point at words 2..k
            lower = list(decode_table(counts, k - 1))
            assert [lower[r] for r in counts.tables[k - 1].suffix] == [g[1:] for g in table]


def test_vocabulary_is_frequency_ordered_with_markers_first():
    counts = count_ngrams(["a b b", "c b"], order=1)
    assert counts.vocab.idx_to_token == ["<unk>", "<s>", "</s>", "b", "a", "c"]
    assert counts.first_rank.tolist() == [0, 1, 2, 4, 3, 5]  # lmplz numbers words as it meets them
    assert counts.vocab.counts == [0, 2, 2, 3, 1, 1]
    assert (counts.sentences, counts.tokens) == (2, 5)


ascii_text = st.text(alphabet=st.characters(max_codepoint=127), max_size=20)
any_text = st.text(alphabet=st.sampled_from("ab \t\x1c\x1f\x85\xa0\u3000é日本<>s/"), max_size=20)


@settings(max_examples=80, deadline=None)
@given(lines=st.lists(st.one_of(ascii_text, any_text), max_size=8), unit=st.sampled_from(["word", "char"]))
def test_encoding_is_tokenize_line_whatever_path_it_takes(lines, unit):
    table = {UNK: 0, BOS: 1, EOS: 2}
    ids, lens = encode_lines(lines, unit, "line", table, grow=True)
    expected = [[t for t in tokenize_line(x, unit) if t not in (UNK, BOS, EOS)] for x in lines]
    expected = [t for t in expected if t]
    tokens = list(table)
    assert lens.tolist() == [len(t) for t in expected]
    assert [tokens[i] for i in ids] == [t for tl in expected for t in tl]
    assert list(table)[3:] == list(dict.fromkeys(t for tl in expected for t in tl))  # first-occurrence ids


def test_markers_in_the_text_are_whitespace_and_unknown_words_are_unk():
    counts = count_ngrams(["a <s> b </s>", "<unk>"], order=2)
    assert counts.vocab.idx_to_token == ["<unk>", "<s>", "</s>", "a", "b"]
    assert counts.sentences == 1
    assert encode_eval(["a zz", "", "b"], counts.vocab).tolist() == [1, 3, 0, 2, 1, 4, 2]


def test_flat_boundary_is_one_sentence():
    counts = count_ngrams(["a b", "", "c"], order=2, boundary="flat")
    assert counts.sentences == 1
    assert encode_eval(["a", "c"], counts.vocab, boundary="flat").tolist() == [1, 3, 5, 2]
    assert ("b", "c") in decode_table(counts, 2)
    with pytest.raises(ValueError, match="'line' or 'flat'"):
        count_ngrams(["a"], order=2, boundary="document")


def test_pad_and_lookup_never_cross_a_sentence_start():
    counts = count_ngrams(["a b", "b a"], order=3)
    seq = pad_sentences(np.array([3, 4, 4, 3]), np.array([2, 2]))
    rows = lookup_rows(counts.tables, seq)
    assert seq.tolist() == [1, 3, 4, 2, 1, 4, 3, 2]
    assert rows[1][4] == -1 and rows[2][5] == -1  # nothing reaches back over <s>
    assert (rows[2][[2, 3, 6, 7]] >= 0).all()


def test_locate_with_keys_too_large_to_pack():
    keys = np.array([3, 2**61, 2**62 + 5], np.int64)
    assert locate(keys, np.array([2**62 + 5, 4, 3, 2**61])).tolist() == [2, -1, 0, 1]
    assert locate(keys, np.array([], np.int64)).tolist() == []


def test_count_ngrams_rejects_order_zero():
    with pytest.raises(ValueError, match="order 0"):
        count_ngrams(["a b"], order=0)
