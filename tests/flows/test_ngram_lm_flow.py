"""Flow `ngram-lm` under the session's Prefect test harness: two orders, metrics, ARPA and the table artifact."""

from __future__ import annotations

import json

import pytest
from flow_artifacts import newest_artifacts

pytestmark = pytest.mark.flows


def test_ngram_lm_flow_estimates_each_order_and_publishes_the_table(tmp_path, shared_data):
    from flows.ngram_lm import ngram_lm

    summaries = ngram_lm(sources=["timemachine"], orders=[2, 3], out=str(tmp_path))
    assert [s.name for s in summaries] == ["ngram-mkn-o2", "ngram-mkn-o3"]
    assert [round(s.ppl_incl_oov, 3) for s in summaries] == [265.955, 258.422]
    assert all((tmp_path / "models" / s.name / "lm.arpa").is_file() for s in summaries)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["ngram_lm"]) == {"ngram-mkn-o2", "ngram-mkn-o3"}
    table = newest_artifacts("ngram-lm-perplexity")["ngram-lm-perplexity"]
    assert [row["order"] for row in json.loads(table.data)] == [2, 3]
