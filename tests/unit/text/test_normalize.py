"""Text layer against the book: d2l cleaning, tokens, vocabulary order, and the Unicode mode."""

from __future__ import annotations

import re

import pytest

from seqpipe.corpus import load_lines
from seqpipe.text.normalize import d2l_word_ids, normalize_line
from seqpipe.text.split import split_lines
from seqpipe.text.tokenize import tokenize_line
from seqpipe.text.vocab import Vocab


@pytest.fixture(scope="module")
def tm_lines(shared_data):
    return load_lines("timemachine", "d2l")


def test_book_lines(tm_lines):
    assert len(tm_lines) == 3221
    assert tm_lines[0] == "the time machine by h g wells"
    assert tm_lines[10] == "twinkled and his usually pale face was flushed and animated the"


def test_char_and_word_corpora(tm_lines):
    chars = [t for line in tm_lines for t in tokenize_line(line, "char")]
    words = [t for line in tm_lines for t in tokenize_line(line, "word")]
    assert (len(chars), len(Vocab.from_tokens(chars))) == (170_580, 28)
    assert (len(words), len(Vocab.from_tokens(words))) == (32_775, 4_580)


@pytest.mark.parametrize(("min_freq", "size"), [(0, 4580), (1, 4580), (2, 2183), (3, 1420), (5, 825), (10, 400)])
def test_min_freq_vocab_sizes(tm_lines, min_freq, size):
    words = [t for line in tm_lines for t in tokenize_line(line, "word")]
    assert len(Vocab.from_tokens(words, min_freq=min_freq)) == size


def test_bytes_fast_path_equals_the_regex(shared_data):
    raw = (shared_data / "xiyouji_pg23962.txt").read_bytes()[:200_000] + (shared_data / "timemachine.txt").read_bytes()
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    per_line = [re.sub("[^A-Za-z]+", " ", line).lower().split() for line in lines]
    ids, words, counts = d2l_word_ids(lines)
    assert words[ids].tolist() == [w for line in per_line for w in line]
    assert counts.tolist() == [len(line) for line in per_line]


def test_vocab_roundtrip(tmp_path):
    vocab = Vocab.from_tokens("b a b c a b".split(), reserved_tokens=["<pad>"])
    assert vocab.idx_to_token == ["<unk>", "<pad>", "b", "a", "c"]
    vocab.save(tmp_path / "v.parquet")
    again = Vocab.load(tmp_path / "v.parquet")
    assert again.idx_to_token == vocab.idx_to_token and again.fingerprint() == vocab.fingerprint()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Ｔｈｅ　ＴＩＭＥ—機器！", "the time 機器"),
        ("cafe\u0301 café", "café café"),  # NFD and NFC: one spelling
        ("fa\u200cra a\u200db", "fa\u200cra a\u200db"),  # joiners stay inside words
        ("abc\u200fdef\u00adghi", "abcdefghi"),  # RLM and soft hyphen vanish
        ("left\u2028right\u00a0x", "left right x"),
        ("Straße", "strasse"),  # case folding
    ],
)
def test_unicode_mode(text, expected):
    assert normalize_line(text, "unicode") == expected


def test_cjk_words_are_characters():
    assert tokenize_line(normalize_line("孫悟空 大鬧天宮, ok", "unicode"), "word") == ["孫", "悟", "空", "大", "鬧", "天",
                                                                                   "宮", "ok"]


def test_split_shared_by_ngram_and_neural_models(tm_lines):
    split = split_lines(tm_lines, "0.9")
    assert (len(split.train), len(split.test)) == (2575, 273)
    assert sum(len(x.split()) for x in split.train) == 29_634
    three = split_lines(tm_lines, "0.9,0.05")
    assert not set(map(id, three.train)) & set(map(id, three.test))
    with pytest.raises(ValueError, match="fractions"):
        split_lines(tm_lines, "0.9,0.2")
