"""Prefect task for time-series forecasting: run seqpipe's forecast, log it, publish the k-step error table."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from seqpipe.train.forecast import run_forecast
from seqpipe.train.forecast_config import ForecastConfig

K_STEP_ARTIFACT = "series-k-step-error"
REPORT_ARTIFACT = "series-forecast-report"


def k_step_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per (model or baseline, k): test MSE and MAE, from a forecast summary."""
    entries = {name: (e["mse_by_k"], e["mae_by_k"]) for name, e in summary["by_model"].items()}
    entries["last_value"] = (summary["baseline_last_mse_by_k"], summary["baseline_last_mae_by_k"])
    entries["train_mean"] = (summary["baseline_mean_mse_by_k"], summary["baseline_mean_mae_by_k"])
    return [
        {"model": name, "k": int(k), "mse": mse[k], "mae": mae[k]}
        for name, (mse, mae) in entries.items()
        for k in mse
    ]


def _markdown(summary: dict[str, Any]) -> str:
    ks = list(summary["baseline_last_mse_by_k"])
    lines = [
        f"# Forecast of `{summary['series']}` (tau={summary['tau']}, {summary['n_points']} points)",
        "",
        "| model | 1-step (all test) | " + " | ".join(f"k={k}" for k in ks) + " |",
        "|---|---|" + "---|" * len(ks),
    ]
    for name, entry in summary["by_model"].items():
        cells = " | ".join(f"{entry['mse_by_k'][k]:.4g}" for k in ks)
        lines.append(f"| {name} | {entry['one_step_test_mse']:.4g} | {cells} |")
    for name, key in (("last value", "baseline_last_mse_by_k"), ("train mean", "baseline_mean_mse_by_k")):
        lines.append(f"| {name} | | " + " | ".join(f"{summary[key][k]:.4g}" for k in ks) + " |")
    verdict = "beats" if summary["beats_last_value_at_first_k"] else "does NOT beat"
    lines += ["", f"Best at k={ks[0]}: **{summary['model']}**, which {verdict} the last-value baseline.",
              "", f"Outputs: `{summary['out_dir']}`"]  # fmt: skip
    return "\n".join(lines)


@task(name="series-forecast", cache_policy=NO_CACHE)  # writes files and trains: never cached
def forecast_series(config: ForecastConfig, out_dir: str, plots: bool = True) -> dict[str, Any]:
    """Train and score the configured models into `out_dir`; publish the error table; return the summary."""
    logger = get_run_logger()
    logger.info("forecasting %s with %s into %s", config.series.source, ", ".join(config.models), out_dir)

    def on_epoch(model: str, epoch: int, loss: float) -> None:
        logger.info("%s epoch %d: training loss %.4f", model, epoch, loss)

    summary = run_forecast(config, out_dir, on_epoch=on_epoch, plots=plots)
    logger.info(
        "best at k=%s: %s, MSE by k %s (last value %s)",
        next(iter(summary["mse_by_k"])), summary["model"], summary["mse_by_k"], summary["baseline_last_mse_by_k"],
    )  # fmt: skip
    create_table_artifact(
        key=K_STEP_ARTIFACT,
        table=k_step_rows(summary),
        description=f"{summary['series']}: test MSE/MAE per k for each model and the naive baselines",
    )
    create_markdown_artifact(key=REPORT_ARTIFACT, markdown=_markdown(summary))
    return summary
