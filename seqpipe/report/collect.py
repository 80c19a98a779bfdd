"""Read a run folder into one typed `RunData`: run info, corpus snapshot, n-gram and neural LMs, series.

Every stage is optional: a missing file means "not run" (the field is None or empty); a file that is
there but unreadable is reported in `RunData.problems` instead of raising. Sources, in this order:

    run.json                          run id, config, versions, timings, outputs.snapshot / outputs.series
    <snapshot>/_manifest.json         corpus sizes, totals, Zipf exponents, top n-grams (zipf.png beside it)
    metrics.json "ngram_lm"/"rnn_lm"  one entry per model; models/<name>/metrics.json adds the history
    models/<name>/config.json         a neural model's full config (data split, vocabulary policy)
    <series>/metrics.json, plots/     k-step errors per model and baseline (the folder itself when it is
                                      a `forecast --out` folder)
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from seqpipe.io import SERIES_METRICS_KIND
from seqpipe.ngrams.store import resolve_snapshot
from seqpipe.runinfo import read_run_info


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore", arbitrary_types_allowed=True)


class RunInfo(_Loose):
    """`run.json`: what the run was asked to do, with which versions, and how long each stage took."""

    run_id: str = ""
    written_at: str | None = None
    config: dict[str, Any] = {}
    versions: dict[str, str] = {}
    timings_s: dict[str, float] = {}
    outputs: dict[str, Any] = {}


class InputFile(_Loose):
    """One input of a snapshot, with why it was skipped (None when it was read)."""

    uri: str
    size: int | None = None
    encoding: str | None = None
    skipped: str | None = None
    lines: int = 0
    tokens: int = 0
    bad_bytes: int = 0


class CorpusStats(_Loose):
    """A corpus snapshot's `_manifest.json`, with where it was found."""

    corpus: str = ""
    run_id: str = ""
    created_at: str | None = None
    snapshot: Path
    config: dict[str, Any] = {}
    inputs: list[InputFile] = []
    summary: dict[str, int] = {}
    vocab: dict[str, Any] = {}
    totals: dict[int, dict[str, int]] = {}
    zipf: dict[int, dict[str, float | None]] = {}
    top: dict[int, list[tuple[str, int]]] = {}
    timings_s: dict[str, float] = {}
    zipf_plot: Path | None = None


class NgramResult(_Loose):
    """One n-gram LM entry of `metrics.json` (KenLM's figures; a null perplexity with zero-probability tokens is inf)."""

    name: str
    order: int
    smoothing: str
    k: float | None = None
    sources: list[str] = []
    ppl_incl_oov: float | None = None
    ppl_excl_oov: float | None = None
    oovs: int = 0
    tokens: int = 0
    nll: float | None = None
    uniform_ppl: float | None = None
    zero_prob_tokens: int = 0
    zero_prob_excl_oov: int = 0
    lines: int = 0
    vocab_size: int = 0
    ngrams: list[int] = []
    split: dict[str, dict[str, int]] = {}
    text: dict[str, str] = {}
    discount_fallback: dict[str, str] = {}
    config: dict[str, Any] = {}
    valid: dict[str, Any] | None = None
    folder: Path | None = None

    @model_validator(mode="after")
    def _infinite(self) -> NgramResult:
        if self.ppl_incl_oov is None and self.zero_prob_tokens:
            self.ppl_incl_oov = math.inf
        if self.ppl_excl_oov is None and self.zero_prob_excl_oov:
            self.ppl_excl_oov = math.inf
        return self


class NeuralResult(_Loose):
    """One neural LM: its `metrics.json` (figures and per-epoch history) and `config.json`."""

    name: str
    model: str = ""
    epochs: int = 0
    steps: int = 0
    stopped: str = ""
    best_epoch: int | None = None
    train_ppl: float | None = None
    valid_ppl: float | None = None
    test_ppl: float | None = None
    test_nats: float | None = None
    unigram_valid_ppl: float | None = None
    unigram_test_ppl: float | None = None
    tokens_per_s: float | None = None
    params: int = 0
    vocab_size: int = 0
    device: str = ""
    wall_s: float | None = None
    tokens: dict[str, int] = {}
    oov: dict[str, int] = {}
    test: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    folder: Path | None = None


class ErrorAt(_Loose):
    """Mean squared and absolute error over n forecasts."""

    mse: float | None = None
    mae: float | None = None
    n: int = 0


class SeriesEntry(_Loose):
    """A forecasting model or baseline: k-step, one-step and free-running errors."""

    k_step: dict[int, ErrorAt] = {}
    one_step: ErrorAt | None = None
    free_running: ErrorAt | None = None
    n_parameters: int | None = None
    train_seconds: float | None = None
    epoch_losses: list[float] = []


class SeriesResult(_Loose):
    """`series/metrics.json` and the series plots."""

    folder: Path
    config: dict[str, Any] = {}
    series: dict[str, Any] = {}
    split: dict[str, Any] = {}
    models: dict[str, SeriesEntry] = {}
    baselines: dict[str, SeriesEntry] = {}
    definitions: dict[str, str] = {}
    plots: list[Path] = []


class RunData(_Loose):
    """Everything a report shows about one run; None / empty for the stages that did not run."""

    run_dir: Path
    info: RunInfo | None = None
    corpus: CorpusStats | None = None
    ngram: list[NgramResult] = []
    neural: list[NeuralResult] = []
    series: SeriesResult | None = None
    metrics: dict[str, Any] = Field(default_factory=dict, repr=False)
    problems: list[str] = []


def read_json(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file, or None when the file does not exist."""
    if not path.is_file():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TypeError(f"{path.name} holds a {type(data).__name__}, not an object")
    return data


def locate(value: Any, run_dir: Path) -> Path | None:
    """A path recorded in run.json: absolute, or relative to the run folder; None when unset.

    >>> locate("series", Path("/runs/a")), locate(None, Path("/runs/a"))
    (PosixPath('/runs/a/series'), None)
    """
    if not value:
        return None
    path = Path(str(value)).expanduser()
    return path if path.is_absolute() else run_dir / path


def _snapshot_dir(recorded: Path) -> Path:
    # run.json may name the snapshot, its corpus folder, or the corpus' LATEST file
    return resolve_snapshot(recorded.parent if recorded.name == "LATEST" and recorded.is_file() else recorded)


def _corpus(info: RunInfo | None, run_dir: Path) -> CorpusStats | None:
    recorded = locate((info.outputs if info else {}).get("snapshot"), run_dir)
    if recorded is None:
        return None
    snapshot = _snapshot_dir(recorded)
    manifest = read_json(snapshot / "_manifest.json") or {}
    plot = snapshot / manifest.get("files", {}).get("zipf_plot", "zipf.png")
    return CorpusStats.model_validate({**manifest, "snapshot": snapshot, "zipf_plot": plot if plot.is_file() else None})


def _model_files(run_dir: Path, problems: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    models = run_dir / "models"
    for folder in sorted(models.iterdir()) if models.is_dir() else []:
        metrics = _guard(problems, f"models/{folder.name}/metrics.json", read_json, folder / "metrics.json")
        if metrics is not None:
            found[folder.name] = {**metrics, "folder": folder}
    return found


def _neural(name: str, entry: dict[str, Any], run_dir: Path) -> NeuralResult:
    folder = run_dir / "models" / name
    cfg = read_json(folder / "config.json") or {}
    return NeuralResult.model_validate({**entry, "name": name, "config": cfg.get("config", {}),
                                        "folder": folder if folder.is_dir() else None})


def moved_with_run(path: Path, run_dir: Path) -> Path:
    """A path recorded inside the run folder, followed to where the run folder is now.

    >>> moved_with_run(Path("/old/runs/r1/series"), Path("/new/place/r1"))
    PosixPath('/new/place/r1/series')
    >>> moved_with_run(Path("/data/elsewhere"), Path("/new/place/r1"))
    PosixPath('/data/elsewhere')
    """
    parts = path.parts
    if run_dir.name not in parts:
        return path
    last = len(parts) - 1 - parts[::-1].index(run_dir.name)
    return run_dir.joinpath(*parts[last + 1:])


def _series(info: RunInfo | None, run_dir: Path) -> SeriesResult | None:
    recorded = locate((info.outputs if info else {}).get("series"), run_dir)
    folder = moved_with_run(recorded, run_dir) if recorded is not None else run_dir / "series"
    metrics = read_json(folder / "metrics.json")
    if metrics is None and recorded is None:  # `forecast --out DIR`: the run folder is the series folder
        own = read_json(run_dir / "metrics.json")
        folder, metrics = run_dir, own if own and own.get("kind") == SERIES_METRICS_KIND else None
    if metrics is None:
        return None
    plots = sorted((folder / "plots").glob("*.png")) if (folder / "plots").is_dir() else []
    return SeriesResult.model_validate({**metrics, "folder": folder, "plots": plots})


def _guard(problems: list[str], what: str, read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except (OSError, ValueError, TypeError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        problems.append(f"{what}: {' '.join(str(exc).split())[:300]}")
        return None


def read_run(run_dir: str | Path) -> RunData:
    """Everything a run folder holds, typed; stages that did not run are None or empty."""
    run = Path(run_dir)
    if not run.is_dir():
        raise FileNotFoundError(f"{run}: no such run folder")
    problems: list[str] = []
    info = None
    if (run / "run.json").is_file():
        info = _guard(problems, "run.json", lambda: RunInfo.model_validate(read_run_info(run)))
    metrics = _guard(problems, "metrics.json", read_json, run / "metrics.json") or {}
    corpus = _guard(problems, "corpus snapshot", _corpus, info, run)
    per_model = _model_files(run, problems)
    ngram: list[NgramResult] = []
    neural: list[NeuralResult] = []
    for name, entry in (metrics.get("ngram_lm") or {}).items():
        merged = {**entry, **per_model.pop(name, {}), "name": name}
        result = _guard(problems, f"n-gram model {name}", NgramResult.model_validate, merged)
        ngram += [result] if result else []
    for name, entry in (metrics.get("rnn_lm") or {}).items():
        result = _guard(problems, f"neural model {name}", _neural, name, {**entry, **per_model.pop(name, {})}, run)
        neural += [result] if result else []
    for name, entry in per_model.items():  # model folders the aggregate does not list
        if entry.get("kind") == "ngram-lm-metrics":
            ngram += [r for r in [_guard(problems, f"n-gram model {name}", NgramResult.model_validate, entry)] if r]
        elif entry.get("kind") == "lm-metrics":
            neural += [r for r in [_guard(problems, f"neural model {name}", _neural, name, entry, run)] if r]
    series = _guard(problems, "series", _series, info, run)
    if info is None and not metrics and not per_model and not ngram and not neural and series is None:
        raise ValueError(f"{run}: not a run folder (no run.json, metrics.json, models/ or series/)")
    ngram.sort(key=lambda m: (m.smoothing, m.order, m.name))
    return RunData(run_dir=run, info=info, corpus=corpus, ngram=ngram, neural=neural, series=series,
                   metrics=metrics, problems=problems)
