"""The `corpus-stats` flow under the session's Prefect harness, with a real local Dask cluster."""

from __future__ import annotations

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.ngrams import store


def test_corpus_stats_flow_publishes_a_snapshot(tmp_path, shared_data):
    from flows.corpus_stats import corpus_stats

    summary = corpus_stats(
        corpus=CorpusConfig(sources=("timemachine",)),
        text=TextConfig(tokens="char"),
        ngram=NgramConfig(orders=(1, 2), workers=2, blocksize=64_000),
        out=str(tmp_path),
    )
    assert summary["totals"]["1"] == {"ngrams": 170_580, "distinct": 27}
    assert store.latest_snapshot(tmp_path, "timemachine") == store.resolve_snapshot(summary["snapshot"])
