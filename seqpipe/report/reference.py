"""Published reference numbers the report prints next to a run's own, where the setup matches.

Sources (see ../shared/REFERENCE-d2l.md and ANCHORS.md): d2l 2.0 §8.2-8.3 on `timemachine.txt` with the
book's cleaning (`[^A-Za-z]+` -> space, lower-case), word tokens, n-grams spanning lines; KenLM `lmplz`
(modified Kneser-Ney) + `query` on the first 90 % of lines, one sentence per line; d2l §8.1's sine with
noise std 0.2, whose variance 0.04 is the floor of any one-step MSE.
"""

from __future__ import annotations

from typing import Any

BOOK_CORPUS = {"lines": 3221, "tokens": 32775, "distinct_tokens": 4579, "vocab": 4580}
BOOK_DISTINCT = {1: 4579, 2: 20234, 3: 29882}
BOOK_ZIPF = {1: (1.04, 1.04), 2: (0.46, 0.69), 3: (0.16, 0.47)}  # (all ranks, ranks 10-1000), OLS fits
BOOK_TOP10 = {
    1: [("the", 2261), ("i", 1267), ("and", 1245), ("of", 1155), ("a", 816), ("to", 695), ("was", 552),
        ("in", 541), ("that", 443), ("my", 440)],
    2: [("of the", 309), ("in the", 169), ("i had", 130), ("i was", 112), ("and the", 109), ("the time", 102),
        ("it was", 99), ("to the", 85), ("as i", 78), ("of a", 73)],
    3: [("the time traveller", 59), ("the time machine", 30), ("the medical man", 24), ("it seemed to", 16),
        ("it was a", 15), ("here and there", 15), ("seemed to me", 14), ("i did not", 14), ("i saw the", 13),
        ("i began to", 13)],
}
# KenLM lmplz -o N + query: perplexity including / excluding OOVs (3,414 tokens incl. </s>, 248 OOVs)
KENLM_TIMEMACHINE = {2: (265.955, 180.083), 3: (258.422, 174.508), 4: (258.079, 174.336), 5: (259.147, 175.083)}
CHAR_VOCAB = 28  # the book's character vocabulary with <unk>: a uniform model's perplexity


def is_book_corpus(config: dict[str, Any]) -> bool:
    """True when a snapshot counted The Time Machine as the book does (d2l cleaning, words, flat).

    >>> is_book_corpus({"corpus": {"sources": ["timemachine"]},
    ...                 "text": {"normalize": "d2l", "tokens": "word", "boundary": "flat"}, "ngram": {"min_freq": 0}})
    True
    """
    text = config.get("text", {})
    return (
        list(config.get("corpus", {}).get("sources", [])) == ["timemachine"]
        and text.get("normalize") == "d2l" and text.get("tokens") == "word" and text.get("boundary") == "flat"
        and not config.get("ngram", {}).get("min_freq")
    )


def kenlm_reference(sources: list[str], config: dict[str, Any]) -> tuple[float, float] | None:
    """KenLM's perplexity (incl., excl. OOVs) for an n-gram config it was measured with, else None.

    >>> kenlm_reference(["timemachine"], {"order": 3, "smoothing": "mkn", "split": [0.9], "normalize": "d2l",
    ...                                   "tokens": "word", "boundary": "line"})
    (258.422, 174.508)
    """
    same = (
        list(sources) == ["timemachine"] and config.get("smoothing") == "mkn" and list(config.get("split", [])) == [0.9]
        and config.get("normalize") == "d2l" and config.get("tokens") == "word" and config.get("boundary") == "line"
    )
    return KENLM_TIMEMACHINE.get(int(config.get("order", 0))) if same else None


def matches_book_top10(top: dict[int, list[tuple[str, int]]]) -> dict[int, bool]:
    """Per order, whether the ten most frequent n-grams and their counts equal the book's (ties in any order).

    >>> matches_book_top10({1: BOOK_TOP10[1][::-1], 2: BOOK_TOP10[2][:9]})
    {1: True, 2: False}
    """
    return {n: sorted(map(tuple, rows[:10])) == sorted(BOOK_TOP10[n]) for n, rows in top.items() if n in BOOK_TOP10}


def noise_floor(series: dict[str, Any]) -> float | None:
    """The one-step MSE no forecaster can beat on the synthetic sine: its noise variance.

    >>> round(noise_floor({"source": "sine", "noise_std": 0.2}), 12), noise_floor({"source": "file"})
    (0.04, None)
    """
    if series.get("source") == "sine" and series.get("noise_std") is not None:
        return float(series["noise_std"]) ** 2
    return None
