"""`seqpipe forecast`: train autoregressive models on a series and report one-step, multistep and k-step error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from seqpipe.config import Settings
from seqpipe.io import new_run_id
from seqpipe.series.config import SeriesConfig
from seqpipe.train.forecast_config import MODEL_NAMES, ForecastConfig, TrainConfig


def parse_models(text: str) -> tuple[str, ...]:
    """'mlp', 'linear,gru' or 'all' -> model names, checked.

    >>> parse_models("gru, mlp"), parse_models("all")
    (('gru', 'mlp'), ('linear', 'mlp', 'rnn', 'gru'))
    """
    names = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    if names == ("all",):
        return MODEL_NAMES
    unknown = [n for n in names if n not in MODEL_NAMES]
    if unknown or not names:
        raise ValueError(f"--model {text!r}: choose from {', '.join(MODEL_NAMES)}, a comma list, or all")
    return names


def parse_horizons(text: str) -> tuple[int, ...]:
    """'1,4,16,64' -> (1, 4, 16, 64); an empty list is left for the config to refuse.

    >>> parse_horizons("1, 4,16")
    (1, 4, 16)
    """
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ValueError(
            f"--horizons {text!r}: expected comma-separated integers such as 1,4,16,64"
        ) from None


def build_config(
    sine: bool,
    csv: str | None,
    column: str | None,
    time_column: str | None,
    missing: str,
    models: str,
    tau: int,
    n_train: int | None,
    train_frac: float | None,
    horizons: str,
    epochs: int,
    seed: int,
    **extra: Any,
) -> ForecastConfig:
    """The ForecastConfig the command line describes (exactly one of --sine and --csv)."""
    if sine == (csv is not None):
        raise ValueError("give exactly one series: --sine, or --csv FILE [--column NAME]")
    if sine:
        series = SeriesConfig(source="sine", seed=seed)  # --seed also draws the sine's noise
    else:
        series = SeriesConfig(
            source="file", path=csv, column=column, time_column=time_column, missing=missing
        )
    return ForecastConfig(
        series=series,
        models=parse_models(models),
        tau=tau,
        n_train=n_train,
        train_frac=train_frac,
        horizons=parse_horizons(horizons),
        train=TrainConfig(epochs=epochs),
        seed=seed,
        **extra,
    )


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
    def forecast(
        sine: Annotated[bool, typer.Option("--sine", help="the book's noisy sine (T=1000)")] = False,
        csv: Annotated[
            str | None, typer.Option("--csv", help="CSV or Parquet file, or a named series (sunspots, co2)")
        ] = None,
        column: Annotated[
            str | None, typer.Option(help="column holding the series (default: the only numeric one)")
        ] = None,
        time_column: Annotated[str | None, typer.Option(help="column holding the time stamps")] = None,
        missing: Annotated[
            str, typer.Option(help="empty/NA cells: interpolate, drop or error")
        ] = "interpolate",
        model: Annotated[str, typer.Option(help="linear, mlp, rnn, gru, a comma list, or all")] = "mlp",
        tau: Annotated[int, typer.Option(help="lags per example")] = 4,
        n_train: Annotated[int | None, typer.Option(help="training pairs (sine default 600)")] = None,
        train_frac: Annotated[
            float | None, typer.Option(help="fraction of points that trains (files: 0.6)")
        ] = None,
        horizons: Annotated[str, typer.Option(help="k values, comma-separated")] = "1,4,16,64",
        epochs: Annotated[int, typer.Option(help="training epochs")] = 5,
        seed: Annotated[int, typer.Option(help="seed of the model (and of the sine's noise)")] = 0,
        difference: Annotated[str, typer.Option(help="auto, none or first (auto: files only)")] = "auto",
        scale: Annotated[str, typer.Option(help="auto, none or standard (auto: files only)")] = "auto",
        device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
        out: Annotated[
            Path | None, typer.Option(help="output folder (default $SEQPIPE_OUT/runs/<run id>)")
        ] = None,
        plots: Annotated[bool, typer.Option("--plots/--no-plots", help="write the figures")] = True,
        as_json: Annotated[
            bool, typer.Option("--json", help="last line of stdout: one JSON summary")
        ] = False,
    ) -> None:
        """Autoregressive forecasting (d2l 8.1): one-step, free-running and k-step error vs naive baselines."""
        from seqpipe.train.forecast import prepare, run_forecast  # torch loads only when the command runs

        cfg = build_config(
            sine, csv, column, time_column, missing, model, tau, n_train, train_frac, horizons, epochs, seed,
            difference=difference, scale=scale, device=device,
        )  # fmt: skip
        prepared = prepare(cfg)  # bad input fails here, in one line, before any progress bar appears
        out_dir = out or Path(Settings().out) / "runs" / new_run_id()
        err = Console(stderr=True)
        if csv is not None and column is None:
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
