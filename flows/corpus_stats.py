"""Flow `corpus-stats`: count a corpus' n-grams into a published Parquet snapshot."""

from __future__ import annotations

from prefect import flow

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.defaults import pipeline_defaults
from seqpipe.results import CorpusStatsResult
from tasks.corpus import count_ngrams, publish_snapshot_diff

D = pipeline_defaults()  # data/pipeline.yaml: the pipeline's corpus, text and n-gram settings


@flow(name="corpus-stats", log_prints=True)
def corpus_stats(
    corpus: CorpusConfig = D.corpus,
    text: TextConfig = D.text,
    ngram: NgramConfig = D.ngram,
    out: str | None = None,
    force: bool = False,
) -> CorpusStatsResult:
    """Count uni/bi/tri-grams of the corpus (default: The Time Machine) and publish a snapshot."""
    summary = count_ngrams(corpus, text, ngram, out, force)
    return summary.model_copy(update={"diff": publish_snapshot_diff(summary)})


if __name__ == "__main__":
    print(corpus_stats().snapshot)
