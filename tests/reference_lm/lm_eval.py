"""Reference: perplexity of an in-memory n-gram LM on held-out lines, and the whole in-memory run.

Token-weighted with natural logs: ppl = exp(-sum(log p) / tokens), where tokens counts every word and
every `</s>`; "excluding OOVs" drops the `<unk>` tokens from both the sum and the count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from reference_lm.lm import KneserNeyLM, NgramLM, estimate
from reference_lm.lm_counts import BOS_ID, UNK_ID, count_ngrams, encode_eval
from seqpipe.corpus import load_lines
from seqpipe.io import finite
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.perplexity import Perplexity
from seqpipe.samples import training_prefix
from seqpipe.text.split import split_lines


def perplexity(model: NgramLM, seq: np.ndarray) -> Perplexity:
    """Score a padded id stream (see `encode_eval`).

    >>> from reference_lm.lm import count_lm
    >>> from reference_lm.lm_counts import count_ngrams
    >>> m = count_lm(count_ngrams(["a b"], order=1))  # MLE: p(a) = p(b) = p(</s>) = 1/3
    >>> p = perplexity(m, np.array([1, 3, 0, 2]))  # "<s> a <unk> </s>"
    >>> round(p.ppl_excl_oov, 6), p.ppl_incl_oov, p.oovs, p.tokens, p.zero_prob_tokens, p.zero_prob_excl_oov
    (3.0, inf, 1, 3, 1, 0)
    """
    logp = model.token_logprobs(seq)
    scored = seq[seq != BOS_ID]
    oov = scored == UNK_ID
    tokens, oovs = int(logp.size), int(oov.sum())
    if tokens == 0:
        raise ValueError("nothing to score: the evaluation text holds no sentences")
    nll_incl = -float(logp.sum())
    nll_excl = -float(logp[~oov].sum())
    ppl_incl = math.exp(nll_incl / tokens) if nll_incl / tokens < 700 else math.inf
    ppl_excl = math.exp(nll_excl / (tokens - oovs)) if tokens > oovs and nll_excl / (tokens - oovs) < 700 else math.inf
    zero = np.isneginf(logp)
    return Perplexity(
        ppl_incl, ppl_excl, oovs, tokens, nll_incl, float(model.vocab_size),
        int(zero.sum()), int(zero[~oov].sum()), int((seq == BOS_ID).sum()),
    )


def evaluate(model: NgramLM, lines: Sequence[str]) -> Perplexity:
    """Perplexity on normalized held-out lines, tokenized like the training text."""
    c = model.counts
    return perplexity(model, encode_eval(lines, c.vocab, c.unit, c.boundary))


@dataclass
class LMRun:
    """A model estimated on the train split and its perplexities on the held-out splits."""

    config: NgramLMConfig
    sources: list[str]
    model: NgramLM
    test: Perplexity
    valid: Perplexity | None
    split: dict[str, dict[str, int]] = field(default_factory=dict)  # lines and tokens per split
    prefix: str = ""  # the first words of the training text: where samples start

    @property
    def ngrams(self) -> list[int]:
        """Distinct n-grams per order (order 1: the vocabulary, `<unk>` and `<s>` included)."""
        return [len(t) for t in self.model.counts.tables]

    @property
    def discounts(self) -> list[tuple[float, float, float]]:
        """MKN's D1, D2, D3+ per order (empty for add-k and MLE)."""
        return self.model.discounts if isinstance(self.model, KneserNeyLM) else []

    @property
    def fallback(self) -> dict[int, str]:
        """Orders whose discounts fell back, and why."""
        return self.model.fallback if isinstance(self.model, KneserNeyLM) else {}

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures (an infinite perplexity is written as null: see zero_prob_tokens)."""
        model = self.model
        out: dict[str, Any] = {
            "sources": self.sources,
            "order": self.config.order,
            "smoothing": self.config.smoothing,
            **({"k": self.config.k} if self.config.smoothing == "addk" else {}),
            **{key: finite(v) for key, v in asdict(self.test).items()},
            "vocab_size": model.vocab_size,
            "ngrams": [len(t) for t in model.counts.tables],
            "split": self.split,
            "text": {"normalize": self.config.normalize, "tokens": self.config.tokens, "boundary": self.config.boundary},
        }
        if isinstance(model, KneserNeyLM):
            out["discounts"] = {str(k): list(d) for k, d in enumerate(model.discounts, start=1)}
            out["discount_fallback"] = {str(k): why for k, why in model.fallback.items()}
        if self.valid is not None:
            out["valid"] = {key: finite(v) for key, v in asdict(self.valid).items()}
        return out


def run_lm(sources: str | Sequence[str], config: NgramLMConfig) -> LMRun:
    """Load, split (contiguous, by lines), count the train part, estimate, and score the held-out parts."""
    names = [sources] if isinstance(sources, str) else list(sources)
    parts = split_lines(load_lines(names, config.normalize), config.split)
    if not any(line.strip() for line in parts.train):
        raise ValueError("no training text: the train split is empty")
    if not parts.test:
        raise ValueError("the test split is empty: use a larger corpus or a smaller --split")
    counts = count_ngrams(parts.train, config.order, config.tokens, config.boundary)
    model = estimate(counts, config)
    test = evaluate(model, parts.test)
    valid = evaluate(model, parts.valid) if parts.valid else None
    sizes = {"train": {"lines": len(parts.train), "tokens": counts.tokens}, "test": _size(parts.test, test)}
    if valid is not None:
        sizes["valid"] = _size(parts.valid, valid)
    prefix = training_prefix("\n".join(parts.train[:200]), config.tokens)
    return LMRun(config, names, model, test, valid, sizes, prefix)


def _size(lines: Sequence[str], p: Perplexity) -> dict[str, int]:
    return {"lines": len(lines), "tokens": p.tokens - p.lines}  # every sentence adds one </s>
