"""The end-to-end forecast run: files written, their contents, and the real series against the baselines."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from seqpipe import SCHEMA_VERSION
from seqpipe.series.config import SeriesConfig
from seqpipe.series.sources import sine_series
from seqpipe.train.forecast import prepare, run_forecast
from seqpipe.train.forecast_config import ForecastConfig, TrainConfig

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_sine_run_writes_predictions_metrics_and_plots(tmp_path):
    cfg = ForecastConfig(models=("linear", "mlp"), horizons=(1, 4, 16, 64))
    epochs_seen = []
    summary = run_forecast(cfg, tmp_path, on_epoch=lambda m, e, loss: epochs_seen.append((m, e)))
    assert epochs_seen == [("linear", e) for e in range(1, 6)] + [("mlp", e) for e in range(1, 6)]

    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert names == ["error_vs_k.png", "k_step.png", "multistep.png", "one_step.png", "training_loss.png"]
    assert all(p.read_bytes()[:8] == PNG_MAGIC for p in (tmp_path / "plots").iterdir())
    assert not [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]  # atomic writes left nothing

    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["schema_version"] == SCHEMA_VERSION and metrics["kind"] == "series-forecast"
    assert ForecastConfig.model_validate(metrics["config"]) == cfg  # the full config, round-tripped
    assert metrics["split"]["train_end"] == 604 and metrics["split"]["n_eval_origins"] == 333
    assert (
        metrics["models"]["mlp"]["n_parameters"] == 61 and len(metrics["models"]["mlp"]["epoch_losses"]) == 5
    )

    frame = pd.read_parquet(tmp_path / "predictions.parquet")
    assert list(frame.columns)[:5] == ["t", "k", "y_true", "y_pred", "model"]
    x = sine_series(1000, seed=0).values
    assert np.array_equal(frame["y_true"].to_numpy(), x[frame["t"].to_numpy()])
    assert np.array_equal(frame["time"].to_numpy(), frame["t"].to_numpy() + 1.0)
    assert set(frame["model"]) == {"linear", "mlp", "last_value", "train_mean"}
    k_rows = frame[frame["kind"] == "k_step"]
    assert k_rows.groupby(["model", "k"]).size().eq(933).all() and len(k_rows) == 4 * 4 * 933

    # metrics recomputed from the parquet file: the MSE at k on origins 603..935
    mlp16 = k_rows[(k_rows["model"] == "mlp") & (k_rows["k"] == 16) & (k_rows["origin"] >= 603)]
    by_hand = float(np.mean((mlp16["y_pred"] - mlp16["y_true"]) ** 2))
    assert metrics["models"]["mlp"]["k_step"]["16"]["mse"] == pytest.approx(by_hand)
    assert summary["by_model"]["mlp"]["mse_by_k"]["16"] == pytest.approx(by_hand)
    assert summary["model"] in ("linear", "mlp") and summary["tau"] == 4
    assert summary["baseline_last_mse_by_k"]["1"] == metrics["baselines"]["last_value"]["k_step"]["1"]["mse"]


def test_the_run_does_not_change_torch_threads(tmp_path):
    import torch

    original = torch.get_num_threads()
    torch.set_num_threads(3)  # neither the default nor the run's own count: a missing restore shows
    try:
        during = []
        cfg = ForecastConfig(train=TrainConfig(epochs=1), threads=1)
        run_forecast(cfg, tmp_path, plots=False, on_epoch=lambda *_: during.append(torch.get_num_threads()))
        assert during and set(during) == {1}  # the run used its own count...
        assert torch.get_num_threads() == 3  # ...and gave the caller's back
    finally:
        torch.set_num_threads(original)


def test_nan_never_reaches_the_models_and_is_counted(tmp_path):
    rng = np.random.default_rng(0)
    values = np.sin(0.1 * np.arange(300)) + rng.normal(0, 0.1, 300)
    cells = [f"{v:.5f}" for v in values]
    for i in (5, 50, 51, 52, 200):
        cells[i] = ""
    (tmp_path / "s.csv").write_text("v\n" + "\n".join(cells) + "\n")
    series = SeriesConfig(source="file", path=str(tmp_path / "s.csv"), column="v")
    cfg = ForecastConfig(series=series, models=("mlp", "gru"), horizons=(1, 8), train=TrainConfig(epochs=2))
    summary = run_forecast(cfg, tmp_path / "out", plots=False)
    metrics = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert metrics["series"]["n_missing"] == 5 and metrics["series"]["n_interpolated"] == 5
    assert summary["n_missing"] == 5
    for entry in metrics["models"].values():
        assert np.isfinite(entry["epoch_losses"]).all()
    frame = pd.read_parquet(tmp_path / "out" / "predictions.parquet")
    assert np.isfinite(frame[["y_true", "y_pred"]].to_numpy()).all()


def test_too_short_series_fails_before_training(tmp_path):
    (tmp_path / "s.csv").write_text("v\n" + "\n".join(str(i) for i in range(60)) + "\n")
    cfg = ForecastConfig(series=SeriesConfig(source="file", path=str(tmp_path / "s.csv"), column="v"))
    with pytest.raises(ValueError, match="series too short: 60 points"):
        prepare(cfg)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("name", "column", "time_column"), [("sunspots", "SUNACTIVITY", "YEAR"), ("co2", "co2", "date")]
)
def test_best_model_beats_last_value_at_k1_on_real_series(tmp_path, shared_data, name, column, time_column):
    series = SeriesConfig(source="file", path=name, column=column, time_column=time_column)
    cfg = ForecastConfig(series=series, models=("linear", "mlp", "rnn", "gru"))
    summary = run_forecast(cfg, tmp_path, plots=False)
    best, last = summary["mse_by_k"]["1"], summary["baseline_last_mse_by_k"]["1"]
    print(name, {m: e["mse_by_k"]["1"] for m, e in summary["by_model"].items()}, "last", last)
    assert summary["beats_last_value_at_first_k"] and best < 0.8 * last, (summary["model"], best, last)
    assert best < summary["baseline_mean_mse_by_k"]["1"]
    # errors grow with the horizon for the best model and for persistence alike
    assert summary["mse_by_k"]["64"] > summary["mse_by_k"]["1"]
