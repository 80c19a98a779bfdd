"""`seqpipe train-lm` (train an RNN language model) and `seqpipe generate` (text from its checkpoint)."""

from __future__ import annotations

import json
import sys
import warnings
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from seqpipe.cli.options import with_options
from seqpipe.config import Settings
from seqpipe.fields import Setting, fields_of, nest
from seqpipe.io import new_run_id
from seqpipe.train.config import LMRunConfig  # pydantic only: the options are made from it

err = Console(stderr=True)


@cache
def _settings() -> list[Setting]:
    """Every field of an LMRunConfig as an option, but the sources (the command's argument)."""
    return fields_of(LMRunConfig, exclude={"data.sources"})


def build_config(
    sources: list[str], name: str | None, options: dict[str, Any], base: dict[str, Any] | None = None
) -> LMRunConfig:
    """An LMRunConfig from CLI options given explicitly, over `base` (a saved config) or the defaults."""
    doc = nest(options, _settings(), base)
    if sources:
        doc.setdefault("data", {})["sources"] = list(sources)
    if name is not None:
        doc["name"] = name
    if options.get("minutes") is not None or options.get("epochs") is not None:
        # the stopping rule is given whole, on --resume too: --minutes alone trains as many epochs as fit,
        # --epochs alone drops the checkpoint's time budget
        doc.setdefault("train", {}).update(epochs=options.get("epochs"), minutes=options.get("minutes"))
    return LMRunConfig.model_validate(doc)


@with_options(_settings())
def train_lm(
    sources: Annotated[
        list[str] | None,
        typer.Argument(help="named corpus (timemachine, tinyshakespeare), files, globs or URLs"),
    ] = None,
    preset: Annotated[
        str | None, typer.Option(help="named settings (see README); explicit options override them")
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="grid: trials run on N Dask workers (SEQPIPE_DASK_ADDRESS: a cluster)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="run folder (default $SEQPIPE_OUT/runs/<run_id>)")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="continue from this checkpoint.pt (options left out keep its values)")
    ] = None,
    progress: Annotated[
        bool | None, typer.Option("--progress/--no-progress", help="progress bar on stderr")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="last line: one JSON object with the figures")
    ] = False,
    given: dict[str, Any] | None = None,
) -> None:
    """Train an RNN language model with truncated BPTT; report train / valid / test perplexity."""
    from seqpipe.train.checkpoint import load_checkpoint
    from seqpipe.train.run import train_lm as run

    options = dict(given or {})  # the config options given on the command line
    name = options.pop("name", None)  # a grid's trials are named after it
    if preset is not None:
        from seqpipe.train.presets import apply_preset

        options = apply_preset(preset, options)
    base = None
    if resume is not None:
        base = load_checkpoint(resume)["config"]
        out = out or resume.resolve().parents[2]  # <out>/models/<name>/checkpoint.pt
    elif not sources and not options.get("snapshot"):
        raise ValueError("give a corpus source, --snapshot PATH (or --resume CHECKPOINT)")
    if options.get("snapshot") and options.get("tokens") is None:
        from seqpipe.train.snapshot_data import snapshot_unit

        options["tokens"] = snapshot_unit(options["snapshot"])
    from seqpipe.train.trials import expand

    configs = expand(lambda opts, nm: build_config(sources or [], nm, opts, base), options, name)
    out = out or Path(Settings().out) / "runs" / new_run_id()
    show = sys.stderr.isatty() if progress is None else progress
    if len(configs) > 1 or (workers or 0) > 1:
        _run_grid(configs, out, workers or 1, as_json)
        return
    cfg = configs[0]
    summary = run(cfg, out, resume=resume, progress=show, clock_start=process_start()).summary()
    fmt = lambda v: "-" if v is None else f"{v:.3f}"
    err.print(
        f"{summary['name']}: {summary['epochs']} epochs ({summary['stopped']}), "
        f"train ppl {fmt(summary['train_ppl'])}, "
        f"valid {fmt(summary['valid_ppl'])}{_sampled(summary, 'valid')}, "
        f"test {fmt(summary['test_ppl'])}{_sampled(summary, 'test')}{_calibrated(summary)} "
        f"(unigram {fmt(summary['unigram_valid_ppl'])} / {fmt(summary['unigram_test_ppl'])}), "
        f"{_dynamic(summary)}"
        f"{summary['tokens_per_s'] or 0:,.0f} tokens/s on {summary['device']}",
        markup=False,
        soft_wrap=True,
    )
    if as_json:
        print(json.dumps(summary))
    else:
        print(summary["checkpoint"])


def process_start() -> float:
    """This process's start as a `time.perf_counter()` value (imports and start-up count in the budget)."""
    import time

    import psutil

    age = time.time() - psutil.Process().create_time()
    return time.perf_counter() - max(0.0, age)


def _sampled(summary: dict[str, Any], split: str) -> str:
    """' (sampled: N tokens)' when a figure comes from a sample of its range, else ''."""
    if summary.get(f"{split}_sampled"):
        return f" (sampled: {summary.get(f'{split}_eval_tokens') or 0:,} tokens)"
    return ""


def _calibrated(summary: dict[str, Any]) -> str:
    """' at temperature T (fitted on valid)' when the run calibrated its softmax, else ''."""
    temperature = summary.get("temperature") or 1.0
    return f" at temperature {temperature:.3f} (fitted on valid)" if temperature != 1.0 else ""


def _dynamic(summary: dict[str, Any]) -> str:
    """'dynamic evaluation: test ppl P (N nats/token), ' when the run asked for it, else ''."""
    if summary.get("dynamic_test_ppl") is None:
        return ""
    return (f"dynamic evaluation: test {summary['dynamic_test_ppl']:.3f} ({summary['dynamic_test_nats']:.4f} "
            f"nats/token){_sampled(summary, 'dynamic_test')}, ")


def _run_grid(configs: list[LMRunConfig], out: Path, workers: int, as_json: bool) -> None:
    """Train every trial of a grid, print one line per trial and the best; `trials.parquet` in `out`."""
    import os

    from seqpipe.train.trials import run_trials

    def line(row: dict[str, Any]) -> None:
        ppl = "-" if row.get("valid_ppl") is None else f"{row['valid_ppl']:.3f}"
        err.print(f"{row['name']}: {row['status']} valid ppl {ppl} {row.get('reason') or ''}", markup=False)

    err.print(f"{len(configs)} trials on {workers} worker(s) into {out}", markup=False)
    rows = run_trials(configs, out, workers, os.environ.get("SEQPIPE_DASK_ADDRESS") or None, on_row=line)
    best = min((r for r in rows if r["status"] == "ok" and r.get("valid_ppl") is not None),
               key=lambda r: r["valid_ppl"], default=None)
    err.print(f"best: {best['name'] if best else 'none'} ({out / 'trials.parquet'})", markup=False)
    if as_json:
        print(json.dumps({"trials": rows, "best": best["name"] if best else None}, default=str))
    else:
        print(out / "trials.parquet")


def generate(
    checkpoint: Annotated[
        Path, typer.Argument(help="a checkpoint.pt written by train-lm, or a run folder (its best trial)")
    ],
    prefix: Annotated[str, typer.Option(help="text to warm up on")] = "time traveller",
    n: Annotated[int, typer.Option("--n", help="tokens to generate")] = 50,
    temperature: Annotated[float, typer.Option(help="0 = greedy (the book); > 0 samples (1: the distribution the test figures score, calibrated)")] = 0.0,
    top_k: Annotated[int | None, typer.Option(help="sample among the k most likely tokens")] = None,
    seed: Annotated[int, typer.Option(help="sampling seed")] = 0,
    device: Annotated[str, typer.Option(help="auto | cpu | cuda[:N]")] = "auto",
) -> None:
    """Print the prefix followed by generated text."""
    from seqpipe.train.generate import check_sampling, load_model
    from seqpipe.train.generate import generate as gen
    from seqpipe.train.seed import resolve_device

    check_sampling(n, temperature, top_k)  # before the checkpoint is read
    if checkpoint.is_dir():
        from seqpipe.train.trials import best_trial

        found = best_trial(checkpoint) or next(iter(sorted(checkpoint.glob("models/*/checkpoint.pt"))), None)
        if found is None:
            raise ValueError(f"{checkpoint}: no trials (best.json) and no models/*/checkpoint.pt")
        checkpoint = found
    model, vocab, cfg = load_model(checkpoint, resolve_device(device))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = gen(
            model, vocab, prefix, n, unit=cfg.data.tokens, temperature=temperature, top_k=top_k, seed=seed,
            normalize=cfg.data.normalize, separator=cfg.data.separator,
        )
    for w in caught:
        err.print(f"seqpipe: warning: {w.message}", markup=False)
    print(text)


def register(app: typer.Typer) -> None:
    """Add `train-lm` and `generate` to the app."""
    app.command("train-lm")(train_lm)
    app.command("generate")(generate)
