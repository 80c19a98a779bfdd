"""Flow `series-forecast`: autoregressive models on a time series, scored one-step, free-running and k-step."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from seqpipe.config import Settings
from seqpipe.io import new_run_id
from seqpipe.results import SeriesForecastResult
from seqpipe.train.forecast_config import ForecastConfig
from tasks.series import forecast_series


@flow(name="series-forecast")
def series_forecast(
    config: ForecastConfig = ForecastConfig(),  # noqa: B008 (frozen pydantic model, copied per run)
    out: str | None = None,
    plots: bool = True,
) -> SeriesForecastResult:
    """Forecast the configured series with every configured model; return its result (errors by k, best model)."""
    run_dir = out or str(Path(Settings().out) / "runs" / new_run_id())
    return forecast_series(config, run_dir, plots=plots)


if __name__ == "__main__":
    result = series_forecast()
    print(result.best_by_k, "->", result.folder)
