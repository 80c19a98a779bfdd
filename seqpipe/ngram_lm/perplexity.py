"""KenLM `query`'s perplexity figures, the one result type of every n-gram evaluation.

Token-weighted with natural logs: ppl = exp(-sum(log p) / tokens), where tokens counts every word and
every `</s>`; "excluding OOVs" drops the `<unk>` tokens from both the sum and the count.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Perplexity:
    """One evaluation: KenLM's four figures, the uniform baseline and how many tokens had probability 0."""

    ppl_incl_oov: float
    ppl_excl_oov: float
    oovs: int
    tokens: int  # words + </s>, OOVs included
    nll: float  # total negative natural log-likelihood, OOVs included
    uniform_ppl: float  # a uniform model over the predictable vocabulary
    zero_prob_tokens: int  # tokens scored with probability 0 (MLE): they make ppl_incl_oov infinite
    zero_prob_excl_oov: int  # the same among in-vocabulary tokens: they make ppl_excl_oov infinite
    lines: int

