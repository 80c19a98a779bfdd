"""Counts never depend on how the corpus is cut: property tests against a Counter oracle."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import oracle_counts
from unit.ngrams.helpers import run_count, snapshot_counters

ALPHABETS = {
    "ascii": "ab c\nde.",
    "cjk": "道不一了那\n 。",
    "mixed": "aé道 Z1\n\r",
}

texts = st.sampled_from(sorted(ALPHABETS)).flatmap(
    lambda name: st.lists(st.text(alphabet=ALPHABETS[name], max_size=60), min_size=1, max_size=4)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=texts,
    boundary=st.sampled_from(["flat", "line", "document"]),
    unit=st.sampled_from(["char", "word"]),
    normalize=st.sampled_from(["unicode", "raw", "d2l"]),
    blocksize=st.sampled_from([1, 3, 7, 64, 4096]),
)
def test_counts_match_counter_oracle(docs, boundary, unit, normalize, blocksize):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        for i, doc in enumerate(docs):
            (folder / f"{i:02d}.txt").write_bytes(doc.encode("utf-8"))
        expected = {n: oracle_counts(docs, normalize, unit, boundary, n) for n in (1, 2, 3)}
        if sum(expected[1][0].values()) == 0:
            with pytest.raises(ValueError):
                run_count([folder], Path(tmp) / "out", normalize=normalize, tokens=unit, boundary=boundary,
                          blocksize=blocksize, workers=0)
            return
        result = run_count([folder], Path(tmp) / "out", normalize=normalize, tokens=unit, boundary=boundary,
                           blocksize=blocksize, workers=0)
        for n in (1, 2, 3):
            match, docs_count = snapshot_counters(result.snapshot, n)
            assert match == +expected[n][0], f"order {n} match_count"
            assert docs_count == +expected[n][1], f"order {n} doc_count"
            assert result.totals[n]["ngrams"] == sum(expected[n][0].values())


@pytest.mark.parametrize("boundary", ["flat", "line", "document"])
def test_real_local_cluster_equals_oracle(tmp_path, boundary):
    """Two real Dask worker processes, many tiny partitions, orders 1-5."""
    from seqpipe.parallel import dask_client

    docs = ["the cat sat\non the mat\n", "道可道非常道\n名可名\n", "", "the cat\r\nran far\rthe end", "x"]
    folder = tmp_path / "in"
    folder.mkdir()
    for i, doc in enumerate(docs):
        (folder / f"{i}.txt").write_text(doc, encoding="utf-8", newline="")
    with dask_client(2) as client:
        result = run_count([folder], tmp_path / "out", client, normalize="unicode", tokens="char",
                           boundary=boundary, blocksize=5, workers=2, orders=(1, 2, 3, 4, 5))
    for n in range(1, 6):
        match, doc_count = snapshot_counters(result.snapshot, n)
        want_match, want_docs = oracle_counts(docs, "unicode", "char", boundary, n)
        assert match == want_match
        assert doc_count == want_docs


def test_one_worker_merges_the_highest_order_first(tmp_path):
    """On one worker the merges run one at a time in the scheduler's order: every trigram bucket before any
    bigram one, every bigram one before any unigram one (Dask alone ran them in another order: the priority
    says it). The order is read from the scheduler's task stream."""
    from distributed import get_task_stream

    from seqpipe.parallel import dask_client

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(4):
        (folder / f"{i}.txt").write_text(" ".join(f"w{(i * 7 + k * k) % 97}" for k in range(400)), encoding="utf-8")
    with dask_client(1) as client, get_task_stream(client=client) as stream:
        run_count([folder], tmp_path / "out", client, workers=1, buckets=4, blocksize=200)
    started = sorted((min(s["start"] for s in t["startstops"] if s["action"] == "compute"), t["key"])
                     for t in stream.data if str(t["key"]).startswith("merge-"))
    orders = [int(key.split("-")[-2]) for _, key in started]
    assert orders == [3] * 4 + [2] * 4 + [1] * 4, started
