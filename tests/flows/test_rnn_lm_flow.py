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
    assert [s.name for s in summaries] == ["rnn", "lstm"]
    assert all(s.valid_ppl is not None and s.epochs == 1 for s in summaries)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert set(metrics["rnn_lm"]) == {"rnn", "lstm"}
    table = newest_artifacts("rnn-lm-perplexity")["rnn-lm-perplexity"]
    assert {row["name"] for row in json.loads(table.data)} == {"rnn", "lstm"}


def test_rnn_lm_flow_runs_a_grid_on_dask_workers_and_reports_progress(tmp_path, shared_data):
    import pandas as pd
    from prefect.client.orchestration import get_client

    from flows.rnn_lm import rnn_lm

    rows = rnn_lm(
        data=LMDataConfig(max_tokens=1500),
        models=["gru"],
        model=LMModelConfig(hidden=8),
        train=LMTrainConfig(batch_size=8, num_steps=10, epochs=1, threads=1),
        grid={"lr": [0.5, 1.0]},
        workers=2,
        out=str(tmp_path),
    )
    assert sorted(r["name"] for r in rows) == ["lr0.5", "lr1"] and {r["status"] for r in rows} == {"ok"}
    table = pd.read_parquet(tmp_path / "trials.parquet")
    assert len(table) == 2 and table["best"].sum() == 1 and set(table["lr"]) == {0.5, 1.0}

    async def progress_artifacts():
        async with get_client() as client:
            return [a for a in await client.read_artifacts() if a.type == "progress"]

    import asyncio

    assert any(float(a.data) == 100.0 for a in asyncio.run(progress_artifacts()))


def test_rnn_lm_flow_trains_on_the_snapshot_it_is_given(tmp_path):
    from lm_snapshots import make_snapshot, pattern_lines

    from flows.rnn_lm import rnn_lm

    snap = make_snapshot(tmp_path / "snap", {"train": pattern_lines(300), "valid": pattern_lines(30, 1),
                                             "test": pattern_lines(30, 2)})
    [summary] = rnn_lm(models=["gru"], model=LMModelConfig(hidden=8, embedding=8),
                       train=LMTrainConfig(batch_size=4, num_steps=5, epochs=1, threads=1),
                       snapshot=str(snap), out=str(tmp_path / "run"))
    config = json.loads((tmp_path / "run" / "models" / "gru" / "config.json").read_text())
    assert config["config"]["data"]["snapshot"] == str(snap) and config["config"]["data"]["tokens"] == "word"
    assert summary.valid_ppl is not None and summary.tokens["train"] > 300


def test_progress_phases_cover_every_stage_of_a_run_in_its_order():
    from tasks.rnn_lm import PrefectProgress

    # an unknown phase would count 0-100 % and pin the artifact at 100 % before the test evaluation
    order = ["train", "calibrate", "valid", "test", "dynamic test"]  # the EvalBar labels of train_lm, in order
    spans = [PrefectProgress.SHARE[phase] for phase in order]
    assert spans[0][0] == 0.0 and spans[-1][1] == 100.0
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(spans, spans[1:], strict=False))
