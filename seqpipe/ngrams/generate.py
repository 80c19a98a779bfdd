"""Sampling text from an n-gram model: what the Markov assumption produces (d2l §8.3).

Each step draws the next token from p(. | last N-1 tokens) with a seeded numpy Generator, so the same
model, prefix and seed always give the same text. A sentence ends at `</s>` or after `max_tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqpipe.ngrams.lm import NgramLM
from seqpipe.ngrams.lm_counts import BOS_ID, EOS_ID, UNK_ID


def sample_next(model: NgramLM, history: Sequence[int], rng: np.random.Generator, allow_unk: bool = False) -> int:
    """Draw one token id after `history` (ids, `<s>` first); `<unk>` is left out unless `allow_unk`."""
    dist = np.asarray(model.next_distribution(history), np.float64).copy()
    if not allow_unk:
        dist[UNK_ID] = 0.0
    dist[BOS_ID] = 0.0
    cumulative = np.cumsum(dist)
    if not cumulative[-1] > 0:
        raise ValueError("the model gives no probability to any token after this context")
    return int(min(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"), dist.size - 1))


def generate(
    model: NgramLM,
    prefix: Sequence[str] = (),
    max_tokens: int = 30,
    seed: int = 0,
    allow_unk: bool = False,
) -> list[str]:
    """Continue `prefix` (tokens) to the end of a sentence; returns prefix + sampled tokens (no markers).

    >>> from seqpipe.ngrams.lm import kneser_ney
    >>> from seqpipe.ngrams.lm_counts import count_ngrams
    >>> lm = kneser_ney(count_ngrams(["the time machine", "the time traveller", "a machine"] * 3, order=2))
    >>> generate(lm, seed=1) == generate(lm, seed=1)
    True
    >>> generate(lm, ["the"], max_tokens=1, seed=3)[0]
    'the'
    """
    if max_tokens < 0:
        raise ValueError(f"max_tokens={max_tokens}: must be at least 0")
    rng = np.random.default_rng(seed)
    vocab = model.vocab
    ids = [BOS_ID, *(vocab[t] for t in prefix)]
    out = list(prefix)
    width = max(model.order - 1, 0)
    for _ in range(max_tokens):
        nxt = sample_next(model, ids[max(0, len(ids) - width) :] if width else [], rng, allow_unk)
        if nxt == EOS_ID:
            break
        ids.append(nxt)
        out.append(vocab.idx_to_token[nxt])
    return out


def sample_sentences(model: NgramLM, n: int, seed: int = 0, max_tokens: int = 30) -> list[list[str]]:
    """`n` independent sentences from one seeded stream.

    >>> from seqpipe.ngrams.lm import count_lm
    >>> from seqpipe.ngrams.lm_counts import count_ngrams
    >>> sample_sentences(count_lm(count_ngrams(["a b c"], order=3)), 2, seed=0)  # MLE: one path only
    [['a', 'b', 'c'], ['a', 'b', 'c']]
    """
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**63 - 1, size=n)
    return [generate(model, (), max_tokens, int(s)) for s in seeds]
