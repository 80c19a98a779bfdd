"""Flow `ngram-lm` under the session's Prefect test harness: two orders, metrics, ARPA and the table artifact."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.flows


def test_ngram_lm_flow_estimates_each_order_and_publishes_the_table(tmp_path, shared_data):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.ngram_lm import ngram_lm

    summaries = ngram_lm(sources=["timemachine"], orders=[2, 3], out=str(tmp_path))
    assert [s["name"] for s in summaries] == ["ngram-mkn-o2", "ngram-mkn-o3"]
    assert [round(s["ppl_incl_oov"], 3) for s in summaries] == [265.955, 258.422]
    assert all((tmp_path / "models" / s["name"] / "lm.arpa").is_file() for s in summaries)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["ngram_lm"]) == {"ngram-mkn-o2", "ngram-mkn-o3"}
    with get_client(sync_client=True) as client:
        # other flow tests publish under the same stable key: the newest is this run's
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["ngram-lm-perplexity"])),
            sort=ArtifactSort.CREATED_DESC,
        )
    assert artifacts and [row["order"] for row in json.loads(artifacts[0].data)] == [2, 3]
