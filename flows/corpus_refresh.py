"""Flow `corpus-refresh`: the scheduled refresh; recounts only what changed since the last snapshot."""

from __future__ import annotations

from prefect import flow

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.defaults import pipeline_defaults
from seqpipe.results import CorpusStatsResult
from tasks.corpus import count_ngrams, publish_snapshot_diff

D = pipeline_defaults()  # data/pipeline.yaml: the pipeline's corpus, text and n-gram settings


@flow(name="corpus-refresh", log_prints=True)
def corpus_refresh(
    corpus: CorpusConfig = D.corpus,
    text: TextConfig = D.text,
    ngram: NgramConfig = D.ngram,
    out: str | None = None,
) -> CorpusStatsResult:
    """Compare the corpus with its latest snapshot; publish a new one (and what changed) only if something did."""
    summary = count_ngrams(corpus, text, ngram, out)
    print("unchanged" if summary.unchanged else f"published {summary.snapshot}")
    return summary.model_copy(update={"diff": publish_snapshot_diff(summary)})


if __name__ == "__main__":
    corpus_refresh()
