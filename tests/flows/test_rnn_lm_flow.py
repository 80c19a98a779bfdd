"""Flow `rnn-lm` end to end under the session's Prefect test harness, on a tiny slice of the corpus."""

from __future__ import annotations

import json

import pytest
from flow_artifacts import newest_artifacts

from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig

pytestmark = pytest.mark.flows


def test_rnn_lm_flow_trains_each_model_and_publishes_the_table(tmp_path, shared_data):
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
    table = newest_artifacts("rnn-lm-perplexity")["rnn-lm-perplexity"]
    assert {row["name"] for row in json.loads(table.data)} == {"rnn", "lstm"}
