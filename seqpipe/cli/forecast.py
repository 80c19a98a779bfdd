"""`seqpipe forecast`: train autoregressive models on a series and report one-step, multistep and k-step error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seqpipe.cli.options import with_options
from seqpipe.config import Settings
from seqpipe.fields import fields_of, nest
from seqpipe.io import new_run_id
from seqpipe.series.config import SeriesConfig
from seqpipe.train.forecast_config import ForecastConfig

# ForecastConfig's fields, and the series' own but its source (--sine / --csv) and seed (--seed draws both)
_SETTINGS = [
    *fields_of(ForecastConfig, exclude={"series"}),
    *fields_of(SeriesConfig, exclude={"series.source", "series.path", "series.seed"}, under=("series",)),
]


def build_config(sine: bool, csv: str | None, given: dict[str, Any]) -> ForecastConfig:
    """The ForecastConfig the command line describes (exactly one of --sine and --csv)."""
    if sine == (csv is not None):
        raise ValueError("give exactly one series: --sine, or --csv FILE [--column NAME]")
    doc = nest(given, _SETTINGS)
    series = doc.setdefault("series", {})
    if sine:
        series.update(source="sine", seed=given.get("seed", 0))  # --seed also draws the sine's noise
    else:
        series.update(source="file", path=csv)
    return ForecastConfig.model_validate(doc)


def _results_table(summary: dict[str, Any]) -> Table:
    ks = list(summary["baseline_last_mse_by_k"])
    table = Table(title=f"test MSE by k ({summary['series']}, tau={summary['tau']})")
    table.add_column("model")
    table.add_column("1-step (all test)", justify="right")
    for k in ks:
        table.add_column(f"k={k}", justify="right")
    for name, entry in summary["by_model"].items():
        marker = " *" if name == summary["model"] else ""
        cells = [f"{entry['mse_by_k'][k]:.4g}" for k in ks]
        table.add_row(name + marker, f"{entry['one_step_test_mse']:.4g}", *cells)
    for label, key in (("last value", "baseline_last_mse_by_k"), ("train mean", "baseline_mean_mse_by_k")):
        table.add_row(label, "", *[f"{summary[key][k]:.4g}" for k in ks], style="dim")
    return table


def best_line(summary: dict[str, Any]) -> str:
    """The verdict under the table: the best model at the first k, or that none beats the last value.

    >>> best_line({"mse_by_k": {"1": 0.2343}, "baseline_last_mse_by_k": {"1": 0.2336}, "model": "linear",
    ...            "beats_last_value_at_first_k": False})
    'no model beats the last-value baseline at k=1: best linear 0.2343, last value 0.2336'
    """
    k = next(iter(summary["mse_by_k"]))
    if summary["beats_last_value_at_first_k"]:
        return f"best at k={k}: {summary['model']}  (* in the table)"
    return (f"no model beats the last-value baseline at k={k}: best {summary['model']} "
            f"{summary['mse_by_k'][k]:.4g}, last value {summary['baseline_last_mse_by_k'][k]:.4g}")


def register(app: typer.Typer) -> None:
    """Add the `forecast` command to the app."""

    @app.command("forecast")
    @with_options(_SETTINGS)
    def forecast(
        sine: Annotated[bool, typer.Option("--sine", help="the book's noisy sine (T=1000)")] = False,
        csv: Annotated[
            str | None, typer.Option("--csv", help="CSV or Parquet file, or a named series (sunspots, co2)")
        ] = None,
        out: Annotated[
            Path | None, typer.Option(help="output folder (default $SEQPIPE_OUT/runs/<run id>)")
        ] = None,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write the figures")] = True,
        as_json: Annotated[
            bool, typer.Option("--json", help="last line of stdout: one JSON summary")
        ] = False,
        given: dict[str, Any] | None = None,
    ) -> None:
        """Autoregressive forecasting (d2l 8.1): one-step, free-running and k-step error vs naive baselines."""
        from seqpipe.train.forecast import prepare, run_forecast  # torch loads only when the command runs

        cfg = build_config(sine, csv, given or {})
        prepared = prepare(cfg)  # bad input fails here, in one line, before any progress bar appears
        out_dir = out or Path(Settings().out) / "runs" / new_run_id()
        err = Console(stderr=True)
        if csv is not None and cfg.series.column is None:
            err.print(f"column {prepared.series.name!r}: the only numeric one", markup=False)
        columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[loss]}"))
        with Progress(*columns, TimeElapsedColumn(), console=err, transient=as_json) as progress:
            tasks = {m: progress.add_task(f"train {m}", total=cfg.train.epochs, loss="") for m in cfg.models}

            def on_epoch(name: str, epoch: int, loss: float) -> None:
                progress.update(tasks[name], completed=epoch, loss=f"epoch {epoch} loss {loss:.4f}")

            summary = run_forecast(cfg, out_dir, on_epoch=on_epoch, plots=plots, prepared=prepared)
        if as_json:
            print(json.dumps(summary))
            return
        console = Console()
        console.print(_results_table(summary))
        console.print(best_line(summary), markup=False, soft_wrap=True)
        console.print(
            f"wrote {summary['metrics']}, {summary['predictions']} and {len(summary['plots'])} plots"
        )
