"""A split snapshot in a temporary folder: how `seqpipe lm SOURCE...` reaches the one estimator.

`lm SOURCE` counts the sources with the same Dask job as `stats --split` (only unigrams besides the LM
counts) into a folder that is removed afterwards, then estimates from it exactly like `lm --snapshot`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.corpus.sources import corpus_name
from seqpipe.ngrams.dask_count import count_corpus
from seqpipe.parallel import dask_client


@contextmanager
def temporary_split_snapshot(sources: Sequence[str], *, normalize: str, tokens: str, split: tuple[float, ...],
                             lm_boundary: str, order: int, workers: int = 0,
                             settings: Settings | None = None) -> Iterator[Path]:
    """Count `sources` into a temporary split snapshot with LM counts up to `order`; yield its folder."""
    settings = settings or Settings()
    corpus = CorpusConfig(sources=tuple(sources), name=corpus_name(list(sources)))
    text = TextConfig.model_validate({"normalize": normalize, "tokens": tokens, "boundary": "flat"})
    ngram = NgramConfig(orders=(1,), split=split, lm_boundary=lm_boundary, lm_order=order, workers=workers,
                        reuse_counts=False)
    with tempfile.TemporaryDirectory(prefix="seqpipe-lm-") as tmp:
        with dask_client(workers, settings.dask_address if workers else None) as client:
            result = count_corpus(corpus, text, ngram, tmp, client, settings)
        yield result.snapshot
