"""Shared helpers for counting tests: run a count and read every order back as Counters."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.ngrams import store
from seqpipe.ngrams.dask_count import count_corpus
from seqpipe.parallel import InlineClient


def run_count(sources, out: Path, client=None, name: str = "t", force: bool = False, **kw):
    """Count with the given text/ngram options, returning the CountResult."""
    text = TextConfig(**{k: kw.pop(k) for k in ("normalize", "tokens", "boundary") if k in kw})
    ngram = NgramConfig(**kw)
    return count_corpus(CorpusConfig(sources=tuple(map(str, sources)), name=name), text, ngram, out,
                        client or InlineClient(), force=force)


def snapshot_counters(snapshot: Path, order: int) -> tuple[Counter, Counter]:
    """(match_count, doc_count) of one order, read from the Parquet files."""
    table = store.read_ngrams(snapshot, order).to_pydict()
    grams = list(zip(*(table[f"w{i + 1}"] for i in range(order))))
    return Counter(dict(zip(grams, table["match_count"]))), Counter(dict(zip(grams, table["doc_count"])))
