"""The forecast run end to end: config in; predictions.parquet, metrics.json and plots out; a summary back.

Steps: load and clean the series, cut the training range, fit the scaling (and differencing) on it,
train each model on it, then score one-step, free-running and k-step forecasts on the test range next
to the last-value and training-mean baselines. Every file is written atomically (`seqpipe.io`).

Definitions (also stored in metrics.json): a k-step forecast from origin o predicts x[o+k] from
x[..o] and its own outputs. `mse_by_k` scores every k on the same origins (test_start-1 .. T-1-max_k),
so all targets are test points. `one_step` scores x[test_start..T-1], i.e. every test point.
"""

from __future__ import annotations

import time as clock
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqpipe.eval.multistep import Evaluation, LastValue, TrainMean, Transformed, evaluate, prediction_rows
from seqpipe.io import atomic_path
from seqpipe.results import SeriesForecastResult
from seqpipe.series.sources import Series, load_series
from seqpipe.series.windows import Split, Transform, make_split
from seqpipe.train.forecast_config import ForecastConfig
from seqpipe.train.seed import resolve_device, torch_threads
from seqpipe.train.series import train_model

ProgressCallback = Callable[[str, int, float], None]  # (model, epoch, training loss)

DEFINITIONS = {
    "k_step": "forecast of x[o+k] uses x[..o] and the model's own predictions; scored on origins "
    "o = test_start-1 .. T-1-max_k, the same origins for every k",
    "one_step": "forecast of x[t] from the observations before t, scored on t = test_start .. T-1",
    "free_running": "one forecast from origin train_end-1 over the whole test range",
    "last_value": "baseline: x[o+k] predicted as x[o]",
    "train_mean": "baseline: x[o+k] predicted as the mean of the training range",
    "epoch_losses": "training MSE per predicted value after each epoch, in model units (scaled/differenced)",
}


@dataclass(frozen=True)
class Prepared:
    """A loaded, validated series with its split and fitted transform: everything before training."""

    series: Series
    split: Split
    transform: Transform


def prepare(cfg: ForecastConfig) -> Prepared:
    """Load the series and check it fits the config (one-line errors) before any training starts.

    >>> p = prepare(ForecastConfig())
    >>> p.split.train_end, p.transform.difference
    (604, False)
    """
    series = load_series(cfg.series)
    lag = int(cfg.differencing)
    split = make_split(len(series), cfg.tau, cfg.train_pairs(len(series)), cfg.max_horizon, lag)
    transform = Transform.fit(series.values, split.train_end, cfg.scaling, cfg.differencing)
    return Prepared(series, split, transform)


def run_forecast(
    cfg: ForecastConfig,
    out_dir: str | Path,
    on_epoch: ProgressCallback | None = None,
    plots: bool = True,
    prepared: Prepared | None = None,
) -> dict[str, Any]:
    """Train and evaluate cfg.models on cfg.series, write the outputs into out_dir, return a summary.

    The summary is small and JSON-ready: paths, the best model at the smallest k and its errors per k,
    the baselines' errors per k, and a short entry for every model (k as string keys).
    """
    out = Path(out_dir)
    with torch_threads(cfg.threads):
        prep = prepared or prepare(cfg)
        series, split, transform = prep.series, prep.split, prep.transform
        x = series.values
        z = transform.to_model(x)  # training below reads only its first train_end - lag values
        device = resolve_device(cfg.device)
        evals: list[Evaluation] = []
        model_info: dict[str, dict[str, Any]] = {}
        for name in cfg.models:
            started = clock.perf_counter()
            callback = (lambda e, loss, _n=name: on_epoch(_n, e, loss)) if on_epoch else None
            n_pairs = split.n_train - split.lag
            fitted = train_model(name, z, cfg.tau, n_pairs, cfg.train, cfg.seed, device, callback)
            seconds = clock.perf_counter() - started
            evals.append(evaluate(name, Transformed(fitted, transform), x, split, cfg.horizons))
            model_info[name] = {
                "epoch_losses": fitted.epoch_losses,
                "n_parameters": fitted.n_parameters(),
                "history": fitted.history,
                "train_seconds": round(seconds, 3),
            }
        baselines = [
            evaluate("last_value", LastValue(), x, split, cfg.horizons),
            evaluate("train_mean", TrainMean(float(np.mean(x[: split.train_end]))), x, split, cfg.horizons),
        ]
        out.mkdir(parents=True, exist_ok=True)
        predictions_path = _write_predictions(out / "predictions.parquet", series, split, evals + baselines)
        plot_paths: list[Path] = []
        if plots:
            from seqpipe.train.forecast_plots import write_plots  # matplotlib only when figures are wanted

            losses = {name: info["epoch_losses"] for name, info in model_info.items()}
            plot_paths = write_plots(out / "plots", series.time, x, evals, baselines, split, losses)
        result = _result(cfg, series, split, transform, str(device), evals, baselines, model_info)
        metrics_path = result.write(out / SeriesForecastResult.FILE)  # last: its presence means the stage finished
    return _summary(
        cfg, series, split, evals, baselines, model_info, out, metrics_path, predictions_path, plot_paths
    )


def _keyed(by_k: dict[int, float]) -> dict[str, float]:
    return {str(k): v for k, v in by_k.items()}


def best_model(evals: list[Evaluation], k: int) -> Evaluation:
    """The model with the lowest test MSE at horizon k (ties: the first listed)."""
    return min(evals, key=lambda ev: ev.k_step_errors[k]["mse"])


def _write_predictions(path: Path, series: Series, split: Split, evals: list[Evaluation]) -> Path:
    frame = pd.concat(
        [pd.DataFrame(prediction_rows(ev, series.values, split)) for ev in evals], ignore_index=True
    )
    frame["time"] = series.time[frame["t"].to_numpy()]
    frame = frame[["t", "k", "y_true", "y_pred", "model", "kind", "origin", "time"]]
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False, compression="zstd")
    return path


def _result(
    cfg: ForecastConfig,
    series: Series,
    split: Split,
    transform: Transform,
    device: str,
    evals: list[Evaluation],
    baselines: list[Evaluation],
    model_info: dict[str, dict[str, Any]],
) -> SeriesForecastResult:
    last = baselines[0]
    best_by_k = {}
    for k in cfg.horizons:
        best = best_model(evals, k)
        best_by_k[str(k)] = {
            "model": best.name,
            "mse": best.k_step_errors[k]["mse"],
            "last_value_mse": last.k_step_errors[k]["mse"],
            "beats_last_value": best.k_step_errors[k]["mse"] < last.k_step_errors[k]["mse"],
        }
    return SeriesForecastResult.model_validate({
        "config": {**cfg.model_dump(mode="json"), "series": cfg.series.settings(series.name)},
        "series": {**series.summary(), "first_time": str(series.time[0]), "last_time": str(series.time[-1])},
        "split": split.summary(),
        "transform": {
            "difference": transform.difference,
            "scaling": cfg.scaling,
            "mean": transform.scaler.mean,
            "std": transform.scaler.std,
        },
        "device": device,
        "models": {ev.name: {**model_info[ev.name], **ev.metrics()} for ev in evals},
        "baselines": {b.name: b.metrics() for b in baselines},
        "best_by_k": best_by_k,
        "definitions": DEFINITIONS,
    })


def _summary(
    cfg: ForecastConfig,
    series: Series,
    split: Split,
    evals: list[Evaluation],
    baselines: list[Evaluation],
    model_info: dict[str, dict[str, Any]],
    out: Path,
    metrics_path: Path,
    predictions_path: Path,
    plot_paths: list[Path],
) -> dict[str, Any]:
    k0 = cfg.horizons[0]
    best = best_model(evals, k0)
    last, mean = baselines
    return {
        "series": series.name,
        "n_points": len(series),
        "n_missing": series.n_missing,
        "tau": cfg.tau,
        "models": list(cfg.models),
        "model": best.name,
        "mse_by_k": _keyed(best.mse_by_k()),
        "mae_by_k": _keyed(best.mae_by_k()),
        "baseline_last_mse_by_k": _keyed(last.mse_by_k()),
        "baseline_last_mae_by_k": _keyed(last.mae_by_k()),
        "baseline_mean_mse_by_k": _keyed(mean.mse_by_k()),
        "baseline_mean_mae_by_k": _keyed(mean.mae_by_k()),
        "beats_last_value_at_first_k": best.k_step_errors[k0]["mse"] < last.k_step_errors[k0]["mse"],
        "by_model": {
            ev.name: {
                "mse_by_k": _keyed(ev.mse_by_k()),
                "mae_by_k": _keyed(ev.mae_by_k()),
                "one_step_test_mse": ev.one_step_errors["mse"],
                "free_running_test_mse": ev.free_running_errors["mse"],
                "epoch_losses": model_info[ev.name]["epoch_losses"],
            }
            for ev in evals
        },
        "split": {"n_train_pairs": split.n_train, "test_start": split.test_start, "n_points": split.n_points},
        "out_dir": str(out),
        "metrics": str(metrics_path),
        "predictions": str(predictions_path),
        "plots": [str(p) for p in plot_paths],
    }
