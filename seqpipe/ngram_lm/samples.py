"""What an n-gram model writes beside its metrics: seeded continuations of its own training text's start."""

from __future__ import annotations

from collections.abc import Sequence

from seqpipe.corpus.token_ids import SplitTokens
from seqpipe.ngram_lm.generate import NgramLM, generate
from seqpipe.samples import Sample, training_prefix
from seqpipe.text.tokenize import tokenize_line

SAMPLE_SEEDS = (0, 1, 2)
SAMPLE_TOKENS = 20


def continue_training_text(model: NgramLM, train: SplitTokens, tokens: Sequence[str], unit: str,
                           seeds: Sequence[int] = SAMPLE_SEEDS, max_tokens: int = SAMPLE_TOKENS) -> list[Sample]:
    """Seeded sentences from the model, each continuing the first words of its training lines."""
    joiner = " " if unit == "word" else ""
    head = "\n".join(joiner.join(tokens[i] for i in train.line(j)) for j in range(min(train.lines, 200)))
    prefix = training_prefix(head, unit)
    start = tokenize_line(prefix, unit)
    out = []
    for seed in seeds:
        new = generate(model, start, max_tokens=max_tokens, seed=seed)[len(start):]
        text = " ".join([prefix, *new]).lstrip() if unit == "word" else prefix + "".join(new)
        out.append(Sample(f"sampled, seed {seed}, to </s> or {max_tokens} tokens", prefix, text))
    return out
