"""Flow `rnn-lm` end to end under the session's Prefect test harness, on a tiny slice of the corpus."""

from __future__ import annotations

import json

import pytest

from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig

pytestmark = pytest.mark.flows


def test_rnn_lm_flow_trains_each_model_and_publishes_the_table(tmp_path, shared_data):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    from flows.rnn_lm import rnn_lm

    summaries = rnn_lm(
        data=LMDataConfig(max_tokens=1500),
        models=["rnn", "lstm"],
        model=LMModelConfig(hidden=8),
        train=LMTrainConfig(batch_size=8, num_steps=10, epochs=1, threads=1),
        out=str(tmp_path),
    )
    assert [s["name"] for s in summaries] == ["rnn", "lstm"]
    assert all(s["valid_ppl"] is not None and s["epochs"] == 1 for s in summaries)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["rnn_lm"]) == {"rnn", "lstm"}
    with get_client(sync_client=True) as client:
        # other flow tests publish under the same stable key: the newest is this run's
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["rnn-lm-perplexity"])),
            sort=ArtifactSort.CREATED_DESC,
        )
    assert artifacts and {row["name"] for row in json.loads(artifacts[0].data)} == {"rnn", "lstm"}
