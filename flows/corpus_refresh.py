"""Flow `corpus-refresh`: the scheduled refresh; recounts only what changed since the last snapshot."""

from __future__ import annotations

from typing import Any

from prefect import flow

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from tasks.corpus import count_ngrams, publish_snapshot_diff


@flow(name="corpus-refresh", log_prints=True)
def corpus_refresh(
    corpus: CorpusConfig = CorpusConfig(),
    text: TextConfig = TextConfig(),
    ngram: NgramConfig = NgramConfig(),
    out: str | None = None,
) -> dict[str, Any]:
    """Compare the corpus with its latest snapshot; publish a new one (and what changed) only if something did."""
    summary = count_ngrams(corpus, text, ngram, out)
    print("unchanged" if summary["unchanged"] else f"published {summary['snapshot']}")
    return {**summary, "diff": publish_snapshot_diff(summary)}


if __name__ == "__main__":
    corpus_refresh()
