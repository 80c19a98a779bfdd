"""Read a run folder into one typed `RunData`: run info, corpus snapshot, n-gram and neural LMs, series.

Every stage is optional: a missing file means "not run" (the field is None or empty); a file that is
there but unreadable is reported in `RunData.problems` (one line naming it) instead of raising. The
stages' results are the models of `seqpipe.results`, read as written. Sources, in this order:

    run.json                          run id, config, versions, timings, outputs.snapshot / outputs.series
    corpus_stats.json                 the corpus-stats result: which snapshot (else run.json's outputs.snapshot)
    <snapshot>/_manifest.json         corpus sizes, totals, Zipf exponents, top n-grams (zipf.png beside it)
    models/<name>/metrics.json        one n-gram or neural LM result per model folder
    <series>/metrics.json, plots/     the series result (the folder itself when it is a `forecast --out` folder)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seqpipe.ngrams.store import resolve_snapshot
from seqpipe.results import (
    CorpusStatsResult,
    NeuralLMResult,
    NgramLMResult,
    ResultError,
    SeriesForecastResult,
    read_result,
)
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


class RunData(_Loose):
    """Everything a report shows about one run; None / empty for the stages that did not run."""

    run_dir: Path
    info: RunInfo | None = None
    corpus: CorpusStats | None = None
    ngram: list[NgramLMResult] = []
    neural: list[NeuralLMResult] = []
    series: SeriesForecastResult | None = None
    series_plots: list[Path] = []
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
    result = run_dir / CorpusStatsResult.FILE
    # runs written before corpus_stats.json existed name their snapshot in run.json only
    recorded = (Path(CorpusStatsResult.read(result).snapshot) if result.is_file()
                else locate((info.outputs if info else {}).get("snapshot"), run_dir))
    if recorded is None:
        return None
    snapshot = _snapshot_dir(recorded)
    manifest = read_json(snapshot / "_manifest.json") or {}
    plot = snapshot / manifest.get("files", {}).get("zipf_plot", "zipf.png")
    return CorpusStats.model_validate({**manifest, "snapshot": snapshot, "zipf_plot": plot if plot.is_file() else None})


def _models(run_dir: Path, problems: list[str]) -> tuple[list[NgramLMResult], list[NeuralLMResult]]:
    ngram: list[NgramLMResult] = []
    neural: list[NeuralLMResult] = []
    models = run_dir / "models"
    for folder in sorted(models.iterdir()) if models.is_dir() else []:
        path = folder / "metrics.json"
        if not path.is_file():  # a model still training, or one whose stage failed: not run
            continue
        result = _guard(problems, run_dir, str(path), read_result, path, NgramLMResult, NeuralLMResult)
        if isinstance(result, NeuralLMResult) and not result.config:  # written before the result held it
            result.config = (read_json(folder / "config.json") or {}).get("config", {})
        ngram += [result] if isinstance(result, NgramLMResult) else []
        neural += [result] if isinstance(result, NeuralLMResult) else []
    return ngram, neural


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


def _series(info: RunInfo | None, run_dir: Path) -> SeriesForecastResult | None:
    recorded = locate((info.outputs if info else {}).get("series"), run_dir)
    folder = moved_with_run(recorded, run_dir) if recorded is not None else run_dir / "series"
    path = folder / SeriesForecastResult.FILE
    if not path.is_file() and recorded is None:  # `forecast --out DIR`: the run folder is the series folder
        own = run_dir / SeriesForecastResult.FILE
        path = own if own.is_file() and (read_json(own) or {}).get("kind") == SeriesForecastResult.KIND else path
    return SeriesForecastResult.read(path) if path.is_file() else None


def _guard(problems: list[str], run_dir: Path, what: str, read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except ResultError as exc:  # a stage result names its own file, as it lies in the run folder
        what = str(exc.path.relative_to(run_dir) if exc.path.is_relative_to(run_dir) else exc.path)
        problems.append(f"{what}: {' '.join(exc.reason.split())[:300]}")
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
        info = _guard(problems, run, "run.json", lambda: RunInfo.model_validate(read_run_info(run)))
    metrics = _guard(problems, run, "metrics.json", read_json, run / "metrics.json") or {}
    corpus = _guard(problems, run, "corpus snapshot", _corpus, info, run)
    ngram, neural = _models(run, problems)
    series = _guard(problems, run, "series", _series, info, run)
    if info is None and not metrics and not ngram and not neural and series is None and not problems:
        raise ValueError(f"{run}: not a run folder (no run.json, metrics.json, models/ or series/)")
    ngram.sort(key=lambda m: (m.smoothing, m.order, m.name))
    plots = sorted((series.folder / "plots").glob("*.png")) if series and series.folder else []
    return RunData(run_dir=run, info=info, corpus=corpus, ngram=ngram, neural=neural, series=series,
                   series_plots=plots, metrics=metrics, problems=problems)

