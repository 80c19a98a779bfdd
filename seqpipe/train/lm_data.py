"""The data of one language-model run, from text (`sources`) or from a snapshot's token ids (`snapshot`).

Either way the run sees a vocabulary, training counts per id (frequency order: what the adaptive
softmax's cutoffs and the unigram baseline use) and three token sources it reads by position.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from seqpipe.eval.windows import unigram_windows
from seqpipe.train.config import LMDataConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.snapshot_data import load_snapshot_corpus
from seqpipe.train.token_source import ArraySource, TokenSource


@dataclass(frozen=True)
class LMData:
    """A corpus (`LMCorpus` or `SnapshotCorpus`), its training counts and its splits as token sources."""

    corpus: Any
    counts: np.ndarray
    train: TokenSource
    valid: TokenSource
    test: TokenSource

    def unigram(self, source: TokenSource, windows: list[tuple[int, int]]) -> float:
        """Add-one unigram perplexity of the training counts on the windows of a split (the baseline)."""
        return unigram_windows(self.counts, source, windows)


def load_lm_data(cfg: LMDataConfig) -> LMData:
    """Open the snapshot's memory maps (`cfg.snapshot`), or read, split and encode the text."""
    if cfg.snapshot:
        snap = load_snapshot_corpus(cfg.snapshot, cfg.min_freq, cfg.max_vocab)
        if snap.unit != cfg.tokens:
            raise ValueError(f"{cfg.snapshot}: the snapshot holds {snap.unit} tokens; use --tokens {snap.unit}")
        return LMData(snap, snap.counts, snap.train, snap.valid, snap.test)
    corpus = build_corpus(cfg)
    counts = np.bincount(corpus.train, minlength=len(corpus.vocab))
    return LMData(corpus, counts, ArraySource(corpus.train), ArraySource(corpus.valid), ArraySource(corpus.test))
