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
    assert summary.totals[1] == {"ngrams": 170_580, "distinct": 27}
    assert store.latest_snapshot(tmp_path, "timemachine") == store.resolve_snapshot(summary.snapshot)


def test_the_counting_task_starts_no_more_workers_than_partitions(tmp_path, shared_data, monkeypatch):
    import tasks.corpus
    from flows.corpus_stats import corpus_stats
    from seqpipe.parallel import dask_client

    started = []

    def recorded(workers, address=None, memory_limit="4GiB"):
        started.append(workers)
        return dask_client(0, address, memory_limit)  # counted inline: only the number asked for matters here

    monkeypatch.setattr(tasks.corpus, "dask_client", recorded)
    corpus_stats(corpus=CorpusConfig(sources=("timemachine",)), ngram=NgramConfig(orders=(1,), workers=2),
                 out=str(tmp_path))
    assert started == [1]  # The Time Machine is one partition of the default 16 MiB blocks
