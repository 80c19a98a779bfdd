"""The `series-forecast` flow under the session's Prefect harness: files, summary and the k-step artifact."""

from __future__ import annotations

import json

from flow_artifacts import newest_artifacts

from seqpipe.results import SeriesForecastResult
from seqpipe.train.forecast_config import ForecastConfig, TrainConfig


def test_series_forecast_flow_publishes_the_k_step_table(tmp_path):
    from flows.series_forecast import series_forecast
    from tasks.series import K_STEP_ARTIFACT, REPORT_ARTIFACT

    cfg = ForecastConfig(models=("mlp", "gru"), horizons=(1, 4), train=TrainConfig(epochs=1, rnn_history=8))
    summary = series_forecast(config=cfg, out=str(tmp_path), plots=False)

    assert summary.folder == tmp_path and list(summary.models) == ["mlp", "gru"]
    assert summary == SeriesForecastResult.read(tmp_path / "metrics.json")  # the task returns what the stage wrote
    recorded = json.loads((tmp_path / "metrics.json").read_text())["config"]
    assert recorded["series"] == {"source": "sine", "length": 1000, "noise_std": 0.2, "freq": 0.01, "seed": 0}
    assert ForecastConfig.model_validate(recorded) == cfg  # only the sine's settings, and still the whole config
    assert (tmp_path / "predictions.parquet").is_file()
    json.loads(summary.model_dump_json())  # the flow returns plain JSON-able data, never frames or tensors

    by_key = newest_artifacts(K_STEP_ARTIFACT, REPORT_ARTIFACT)
    assert set(by_key) == {K_STEP_ARTIFACT, REPORT_ARTIFACT}
    table = by_key[K_STEP_ARTIFACT].data
    rows = json.loads(table) if isinstance(table, str) else table
    assert len(rows) == 4 * 2  # (mlp, gru, last_value, train_mean) x (k=1, k=4)
    mlp_k4 = next(r for r in rows if r["model"] == "mlp" and r["k"] == 4)
    assert mlp_k4["mse"] == json.loads((tmp_path / "metrics.json").read_text())["models"]["mlp"]["k_step"]["4"]["mse"]
    assert "last value" in by_key[REPORT_ARTIFACT].data
