"""Sampling text from an n-gram model: what the Markov assumption produces (d2l §8.3).

Each step draws the next token from p(. | last N-1 tokens) with a seeded numpy Generator, so the same
model, prefix and seed always give the same text. A sentence ends at `</s>` or after `max_tokens`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from seqpipe.corpus.token_ids import BOS_ID, EOS_ID, UNK_ID
from seqpipe.text.vocab import Vocab


class NgramLM(Protocol):
    """What sampling needs of a model: its order, its vocabulary and p(next | history)."""

    order: int
    vocab: Vocab

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """Probabilities over all ids of the token after `history` (ids, `<s>` first)."""
        ...


class _Bigrams:
    """A hand-written bigram model for the examples: after `a` comes `b`, after `b` the sentence ends."""

    order = 2
    vocab = Vocab(["<unk>", "<s>", "</s>", "a", "b"], [0] * 5)

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """<s> -> a -> b -> </s>."""
        return np.eye(5)[{1: 3, 3: 4, 4: 2}[history[-1]]]


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

    >>> generate(_Bigrams(), seed=1), generate(_Bigrams(), ["a"], seed=2), generate(_Bigrams(), max_tokens=1)
    (['a', 'b'], ['a', 'b'], ['a'])
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

    >>> sample_sentences(_Bigrams(), 2, seed=0)  # one path only
    [['a', 'b'], ['a', 'b']]
    """
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**63 - 1, size=n)
    return [generate(model, (), max_tokens, int(s)) for s in seeds]
