"""`seqpipe lm`: estimate an n-gram LM on the train split and print its perplexity like KenLM's `query`."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from seqpipe.cli.options import with_options
from seqpipe.fields import fields_of, nest
from seqpipe.ngram_lm.config import NgramLMConfig

if TYPE_CHECKING:  # DuckDB and the estimator load when `lm` runs, so other commands start fast
    from seqpipe.ngram_lm.estimate import SnapshotLMRun


def _ppl(value: float, zero: int) -> str:
    return f"{value:.3f}" if math.isfinite(value) else f"inf ({zero:,} tokens with probability 0)"


def summary_lines(run: SnapshotLMRun) -> list[str]:
    """The human-readable report: setup, discounts (and fallbacks), then query's four lines and the baseline."""
    c, p = run.config, run.test
    sizes = "; ".join(f"{name} {s['lines']:,} lines / {s['tokens']:,} tokens" for name, s in run.split.items())
    smoothing = f"addk k={c.k:g}" if c.smoothing == "addk" else c.smoothing
    lines = [
        f"{', '.join(run.sources)}: order {c.order} {smoothing}; {c.normalize}/{c.tokens}/{c.boundary}; {sizes}",
        "n-grams: " + " / ".join(f"{n:,}" for n in run.ngrams),
    ]
    if c.smoothing == "mkn":
        lines.append("discounts D1 D2 D3+: " + " | ".join(
            f"{k}: {' '.join(f'{d:.4f}' for d in ds)}" for k, ds in enumerate(run.discounts, start=1)))
        for k, why in run.fallback.items():
            lines.append(f"order {k}: discounts fell back to {' '.join(f'{d:g}' for d in c.discount_fallback)} ({why})")
    lines += [
        f"Perplexity including OOVs:\t{_ppl(p.ppl_incl_oov, p.zero_prob_tokens)}",
        f"Perplexity excluding OOVs:\t{_ppl(p.ppl_excl_oov, p.zero_prob_excl_oov)}",
        f"OOVs:\t{p.oovs}",
        f"Tokens:\t{p.tokens}",
        f"Uniform baseline (|V| = {p.uniform_ppl:,.0f}):\t{p.uniform_ppl:.3f}",
    ]
    return lines


_SETTINGS = fields_of(NgramLMConfig)


@with_options(_SETTINGS)
def lm(
    sources: Annotated[list[str] | None, typer.Argument(help="named corpus (timemachine), files, folders, globs or URLs")] = None,
    snapshot: Annotated[Path | None, typer.Option(help="estimate from a split snapshot's LM counts (a snapshot "
                                                  "folder, or a corpus folder: its LATEST) instead of SOURCES")] = None,
    memory: Annotated[str, typer.Option(help="memory budget of the estimation (like lmplz -S)")] = "2GiB",
    threads: Annotated[int, typer.Option(help="estimation threads (0: every core, at most 16)")] = 0,
    work_dir: Annotated[Path | None, typer.Option(help="scratch folder (default: the temp folder)")] = None,
    workers: Annotated[int, typer.Option(help="SOURCES: Dask workers counting them (0: in this process)")] = 0,
    arpa: Annotated[Path | None, typer.Option(help="write the model as ARPA here (mkn only)")] = None,
    generate: Annotated[int, typer.Option(help="also print this many sampled sentences")] = 0,
    seed: Annotated[int, typer.Option(help="seed for --generate")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="end with one JSON line of the figures")] = False,
    given: dict[str, Any] | None = None,
) -> None:
    """Estimate an n-gram LM on the first part of the corpus and report its perplexity on the rest."""
    config = NgramLMConfig.model_validate(nest(given or {}, _SETTINGS))
    if arpa is not None and config.smoothing != "mkn":
        raise ValueError(f"--arpa needs a back-off model: use --smoothing mkn (not {config.smoothing})")
    if generate < 0:
        raise ValueError(f"--generate {generate}: give a number of sentences, 0 or more")
    if (snapshot is None) == (not sources):
        raise ValueError("give either SOURCES or --snapshot PATH (not both)")
    from seqpipe.ngram_lm.estimate import estimate_snapshot
    from seqpipe.ngram_lm.stage import estimate_sources

    options: dict[str, Any] = {"arpa": arpa, "generate": generate, "seed": seed, "threads": threads or None}
    if snapshot is not None:
        run = estimate_snapshot(snapshot, config, memory, work_dir, **options)
    else:  # counted into a temporary split snapshot, then the same estimator
        run = estimate_sources(sources or [], config, memory, work_dir, workers=workers, **options)
    samples = run.samples
    for line in summary_lines(run):
        print(line)
    payload: dict[str, Any] = run.summary()
    if arpa is not None:
        print(f"ARPA:\t{arpa}")
        payload["arpa"] = str(arpa)
    if generate:
        joiner = "" if run.config.tokens == "char" else " "
        texts = [joiner.join(s) for s in samples]
        for i, text in enumerate(texts, start=1):
            print(f"sample {i}:\t{text}")
        payload["samples"] = texts
    if as_json:
        print(json.dumps(payload, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add `seqpipe lm` to the app."""
    app.command("lm")(lm)
