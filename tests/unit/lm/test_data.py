"""Token ids for LM training: the book's corpus, contiguous splits with no overlap, raw newlines, OOV."""

from __future__ import annotations

import numpy as np
import pytest

from seqpipe.corpus import load_lines
from seqpipe.text.normalize import normalize_line
from seqpipe.train.config import LMDataConfig
from seqpipe.train.data import build_corpus


@pytest.fixture(scope="module")
def d2l_lines(shared_data):
    return load_lines("timemachine", "d2l")


def text(corpus, part: str) -> str:
    return "".join(corpus.vocab.decode(getattr(corpus, part).tolist()))


def test_book_char_corpus_and_its_first_10000(d2l_lines):
    full = build_corpus(LMDataConfig(split="none"), d2l_lines)
    assert (len(full.train), len(full.vocab)) == (170580, 28)  # the book's (170580, 28)
    book = build_corpus(LMDataConfig(split="none", max_tokens=10000), d2l_lines)
    assert len(book.train) == 10000 and len(book.vocab) == 28
    assert text(book, "train") == "".join(d2l_lines)[:10000]  # lines joined with no separator, as the book
    assert book.vocab.idx_to_token[:4] == ["<unk>", " ", "e", "t"]  # the book's frequency order


def test_line_split_is_contiguous_with_no_overlap(d2l_lines):
    c = build_corpus(LMDataConfig(split="0.9,0.05"), d2l_lines)
    whole = "".join(d2l_lines)
    assert text(c, "train") + text(c, "valid") + text(c, "test") == whole  # in order, nothing twice or lost
    assert c.sizes() == {"train": 154750, "valid": 8496, "test": 7334}
    assert c.oov() == {"train": 0, "valid": 0, "test": 0}


def test_raw_text_keeps_newlines_and_token_split_is_nanogpts(shared_data):
    raw = (shared_data / "tinyshakespeare.txt").read_text(encoding="utf-8")
    c = build_corpus(
        LMDataConfig(sources=("tinyshakespeare",), normalize="raw", split="0.9,0.1", split_by="tokens")
    )
    cut = int(len(raw) * 0.9)
    assert text(c, "train") == raw[:cut] and text(c, "valid") == raw[cut:] and len(c.test) == 0
    assert len(c.vocab) == 66 and "\n" in c.vocab  # nanoGPT's 65 characters plus <unk>


def test_valid_from_start_moves_the_valid_range_ahead_of_train_and_keeps_the_test(shared_data, d2l_lines):
    raw = (shared_data / "tinyshakespeare.txt").read_text(encoding="utf-8")
    kw = {"sources": ("tinyshakespeare",), "normalize": "raw", "split": "0.88,0.02", "split_by": "tokens"}
    end, start = (build_corpus(LMDataConfig(**kw, valid_from=v)) for v in ("end", "start"))
    cut_valid, cut_train = len(end.valid), int(len(raw) * 0.9)  # the valid range keeps its size
    assert text(start, "valid") == raw[:cut_valid] and text(start, "train") == raw[cut_valid:cut_train]
    assert text(start, "test") == text(end, "test") == raw[cut_train:]  # the test range is nanoGPT's
    assert start.sizes() == end.sizes()
    lines = build_corpus(LMDataConfig(split="0.9,0.05", valid_from="start"), d2l_lines)
    whole = "".join(d2l_lines)
    assert text(lines, "valid") + text(lines, "train") + text(lines, "test") == whole
    assert text(lines, "test") == text(build_corpus(LMDataConfig(split="0.9,0.05"), d2l_lines), "test")
    with pytest.raises(ValueError, match="snapshot's train / valid / test are fixed"):
        LMDataConfig(snapshot="somewhere", valid_from="start")


def test_vocab_comes_from_training_tokens_and_unseen_ones_are_oov():
    lines = ["abab", "abba", "abcab", "zzz"]  # 'c' and 'z' appear only after the training range
    c = build_corpus(LMDataConfig(split="0.5,0.25"), lines)
    assert c.vocab.idx_to_token == ["<unk>", "a", "b"]
    assert c.valid.tolist() == [1, 2, 0, 1, 2] and c.oov() == {"train": 0, "valid": 1, "test": 3}


def test_word_tokens_and_chinese_characters_work():
    raw = ["孫悟空，美猴王！", "唐僧取經。", "豬八戒", "沙悟淨"]
    zh = [normalize_line(s, "unicode") for s in raw]
    c = build_corpus(LMDataConfig(normalize="unicode", split="0.5,0.25"), zh)
    assert text(c, "train") == "孫悟空 美猴王唐僧取經" and c.valid.tolist() == [0, 0, 0]
    words = build_corpus(
        LMDataConfig(tokens="word", split="none"), ["the time machine", "the time traveller"]
    )
    assert words.vocab.decode(words.train.tolist()) == ["the", "time", "machine", "the", "time", "traveller"]
    assert words.train.dtype == np.int64


def test_an_empty_training_range_is_an_error():
    with pytest.raises(ValueError, match="no tokens"):
        build_corpus(LMDataConfig(split="0.1"), ["", "", "abc"])


def test_a_snapshot_vocabulary_or_a_frequency_cut_can_be_used(tmp_path):
    from seqpipe.text.vocab import Vocab

    Vocab.from_tokens(list("zyx")).save(tmp_path / "vocab.parquet")  # a snapshot's vocab.parquet
    c = build_corpus(LMDataConfig(split="none", vocab_path=str(tmp_path / "vocab.parquet")), ["xyzw"])
    assert c.vocab.idx_to_token == ["<unk>", "z", "y", "x"] and c.train.tolist() == [3, 2, 1, 0]
    cut = build_corpus(LMDataConfig(split="none", min_freq=2), ["aab"])
    assert cut.vocab.idx_to_token == ["<unk>", "a"] and cut.train.tolist() == [1, 1, 0]
