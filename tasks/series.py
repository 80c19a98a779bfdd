"""Prefect task for time-series forecasting: run seqpipe's forecast, log it, publish the k-step error table."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from seqpipe.results import SeriesForecastResult
from seqpipe.train.forecast import run_forecast
from seqpipe.train.forecast_config import ForecastConfig

K_STEP_ARTIFACT = "series-k-step-error"
REPORT_ARTIFACT = "series-forecast-report"


def k_step_rows(result: SeriesForecastResult) -> list[dict[str, Any]]:
    """One row per (model or baseline, k): test MSE and MAE, from a forecast result."""
    return [{"model": name, "k": k, "mse": e.mse, "mae": e.mae}
            for name, entry in {**result.models, **result.baselines}.items() for k, e in entry.k_step.items()]


def _markdown(result: SeriesForecastResult) -> str:
    ks = sorted(result.best_by_k)
    title = f"`{result.series.get('name')}` (tau={result.config.get('tau')}, {result.series.get('n_points')} points)"
    lines = [
        f"# Forecast of {title}",
        "",
        "| model | 1-step (all test) | " + " | ".join(f"k={k}" for k in ks) + " |",
        "|---|---|" + "---|" * len(ks),
    ]
    for name, entry in result.models.items():
        cells = " | ".join(f"{entry.k_step[k].mse:.4g}" for k in ks)
        lines.append(f"| {name} | {entry.one_step.mse if entry.one_step else float('nan'):.4g} | {cells} |")
    for name, key in (("last value", "last_value"), ("train mean", "train_mean")):
        lines.append(f"| {name} | | " + " | ".join(f"{result.baselines[key].k_step[k].mse:.4g}" for k in ks) + " |")
    best = result.best_by_k[ks[0]]
    verdict = "beats" if best["beats_last_value"] else "does NOT beat"
    lines += ["", f"Best at k={ks[0]}: **{best['model']}**, which {verdict} the last-value baseline.",
              "", f"Outputs: `{result.folder}`"]  # fmt: skip
    return "\n".join(lines)


@task(name="series-forecast", cache_policy=NO_CACHE)  # writes files and trains: never cached
def forecast_series(config: ForecastConfig, out_dir: str, plots: bool = True) -> SeriesForecastResult:
    """Train and score the configured models into `out_dir`; publish the error table; return the result."""
    logger = get_run_logger()
    logger.info("forecasting %s with %s into %s", config.series.source, ", ".join(config.models), out_dir)

    def on_epoch(model: str, epoch: int, loss: float) -> None:
        logger.info("%s epoch %d: training loss %.4f", model, epoch, loss)

    summary = run_forecast(config, out_dir, on_epoch=on_epoch, plots=plots)
    logger.info(
        "best at k=%s: %s, MSE by k %s (last value %s)",
        next(iter(summary["mse_by_k"])), summary["model"], summary["mse_by_k"], summary["baseline_last_mse_by_k"],
    )  # fmt: skip
    result = SeriesForecastResult.read(summary["metrics"])  # the result exactly as the stage wrote it
    create_table_artifact(
        key=K_STEP_ARTIFACT,
        table=k_step_rows(result),
        description=f"{summary['series']}: test MSE/MAE per k for each model and the naive baselines",
    )
    create_markdown_artifact(key=REPORT_ARTIFACT, markdown=_markdown(result))
    return result
