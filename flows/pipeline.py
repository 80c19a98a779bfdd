"""Flow `seqpipe`: the whole pipeline on the bundled defaults (`make run`)."""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.corpus_stats import corpus_stats
from seqpipe.config import CorpusConfig, NgramConfig, TextConfig


@flow(name="seqpipe", log_prints=True)
def pipeline(
    corpus: CorpusConfig = CorpusConfig(),
    text: TextConfig = TextConfig(),
    ngram: NgramConfig = NgramConfig(),
    out: str | None = None,
) -> dict[str, Any]:
    """Corpus statistics (then the models and the report) for The Time Machine by default."""
    stats = corpus_stats(corpus, text, ngram, out)
    print(f"snapshot: {stats['snapshot']}")
    return {"stats": stats}


if __name__ == "__main__":
    pipeline()
