"""Every corpus number the book prints for The Time Machine, through the full counting path."""

from __future__ import annotations

import pytest
from unit.ngrams.helpers import run_count

from seqpipe.ngrams import store
from seqpipe.text.vocab import Vocab

TOP_UNIGRAMS = [("the", 2261), ("i", 1267), ("and", 1245), ("of", 1155), ("a", 816), ("to", 695), ("was", 552),
                ("in", 541), ("that", 443), ("my", 440)]
TOP_BIGRAMS = [("of the", 309), ("in the", 169), ("i had", 130), ("i was", 112), ("and the", 109),
               ("the time", 102), ("it was", 99), ("to the", 85), ("as i", 78), ("of a", 73)]
TOP_TRIGRAMS = [("the time traveller", 59), ("the time machine", 30), ("the medical man", 24), ("it seemed to", 16),
                ("here and there", 15), ("it was a", 15), ("i did not", 14), ("seemed to me", 14), ("i began to", 13),
                ("i saw the", 13)]


@pytest.fixture(scope="module")
def word_flat(tmp_path_factory, shared_data):
    return run_count(["timemachine"], tmp_path_factory.mktemp("tm"), name="timemachine", blocksize=40_000)


def test_word_tokens_vocab_and_lines(word_flat):
    manifest = store.read_manifest(word_flat.snapshot)
    assert manifest["summary"]["lines"] == 3221
    assert word_flat.totals[1]["ngrams"] == 32_775
    assert manifest["vocab"]["size"] == 4_580
    assert manifest["summary"]["partitions"] == 5  # the counts below do not depend on it


def test_vocab_parquet_is_the_books_vocab(word_flat):
    vocab = Vocab.load(word_flat.snapshot / "vocab.parquet")
    assert list(vocab.token_to_idx.items())[:10] == [("<unk>", 0), ("the", 1), ("i", 2), ("and", 3), ("of", 4),
                                                     ("a", 5), ("to", 6), ("was", 7), ("in", 8), ("that", 9)]
    # these ids depend on the tie order (first occurrence), as in the book
    assert vocab.encode(["the", "time", "machine", "by", "h", "g", "wells"]) == [1, 19, 50, 40, 2183, 2184, 400]
    line10 = ["twinkled", "and", "his", "usually", "pale", "face", "was", "flushed", "and", "animated", "the"]
    assert vocab.encode(line10) == [2186, 3, 25, 1044, 362, 113, 7, 1421, 3, 1045, 1]


@pytest.mark.parametrize(("order", "expected"), [(1, TOP_UNIGRAMS), (2, TOP_BIGRAMS), (3, TOP_TRIGRAMS)])
def test_top_ten_lists(word_flat, order, expected):
    assert store.top_ngrams(word_flat.snapshot, order, 10) == expected


def test_distinct_ngrams_flat(word_flat):
    assert (word_flat.totals[2]["distinct"], word_flat.totals[3]["distinct"]) == (20_234, 29_882)


def test_distinct_ngrams_line(tmp_path, shared_data):
    result = run_count(["timemachine"], tmp_path, name="timemachine", boundary="line", blocksize=25_000)
    assert (result.totals[2]["distinct"], result.totals[3]["distinct"]) == (18_544, 24_828)


def test_char_corpus(tmp_path, shared_data):
    result = run_count(["timemachine"], tmp_path, name="timemachine", tokens="char", orders=(1,), blocksize=30_000)
    assert result.totals[1]["ngrams"] == 170_580
    vocab = Vocab.load(result.snapshot / "vocab.parquet")
    assert len(vocab) == 28
    assert "".join(vocab.idx_to_token[1:]) == " etainoshrdlmucfwgypbvkxzjq"


def test_zipf_exponents_in_manifest(word_flat):
    zipf = store.read_manifest(word_flat.snapshot)["zipf"]
    assert zipf["1"]["alpha_all_ranks"] == pytest.approx(1.04, abs=0.01)
    assert zipf["2"]["alpha_ranks_10_1000"] == pytest.approx(0.69, abs=0.01)
    assert zipf["3"]["alpha_ranks_10_1000"] == pytest.approx(0.47, abs=0.01)
    assert (word_flat.snapshot / "zipf.png").stat().st_size > 5_000


def test_min_freq_cuts_vocab_not_counts(tmp_path, shared_data):
    result = run_count(["timemachine"], tmp_path, name="timemachine", min_freq=10, orders=(1,))
    assert len(Vocab.load(result.snapshot / "vocab.parquet")) == 400
    assert result.totals[1]["distinct"] == 4_579


def test_chinese_characters(tmp_path, shared_data):
    result = run_count(["xiyouji"], tmp_path, name="xiyouji", normalize="unicode", tokens="char", orders=(1, 2),
                       blocksize=1 << 20)
    top = store.top_ngrams(result.snapshot, 1, 6)
    assert top[1:6] == [("道", 11079), ("不", 8874), ("一", 7977), ("了", 7743), ("那", 7496)]
    assert top[0][0] == " "  # spaces between kept runs are char tokens too
