"""One typed result per stage, written as versioned JSON next to the stage's outputs and read by the report.

    stage          model                 file (kind)
    corpus stats   CorpusStatsResult     runs/<run_id>/corpus_stats.json        (corpus-stats)
    n-gram LM      NgramLMResult         models/<name>/metrics.json             (ngram-lm-metrics)
    neural LM      NeuralLMResult        models/<name>/metrics.json             (lm-metrics)
    series         SeriesForecastResult  series/metrics.json                    (series-forecast)
    report         ReportResult          report.json                            (run-report)

Each is written atomically by `StageResult.write` and read by `StageResult.read`, which turns a missing
file, bad JSON, another kind, another schema version or a missing field into one `ResultError` line naming
the file. Unknown keys are ignored, so files written by earlier versions of a stage still read.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr, ValidationError, model_validator

from seqpipe import SCHEMA_VERSION, __version__
from seqpipe.io import atomic_write_text


class ResultError(ValueError):
    """A stage result file that is missing or does not hold this stage's result (one line, naming the file)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


class StageResult(BaseModel):
    """What every result file holds: its kind, the schema version it was written with and seqpipe's version."""

    model_config = ConfigDict(extra="ignore")
    KIND: ClassVar[str] = ""
    STAMPS: ClassVar[frozenset[str]] = frozenset({"kind", "schema_version", "seqpipe_version"})

    kind: str = ""
    schema_version: int = SCHEMA_VERSION
    seqpipe_version: str = __version__
    _path: Path | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _stamped(cls, data: Any) -> Any:
        # checked before the fields, so a file of another kind or version says so, not "field missing"
        if not isinstance(data, dict):
            return data
        if data.get("kind", cls.KIND) != cls.KIND:
            raise ValueError(f"holds a {data['kind']!r} result, not {cls.KIND!r}")
        if data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data['schema_version']}; this seqpipe reads {SCHEMA_VERSION}")
        return {**data, "kind": cls.KIND}

    @property
    def folder(self) -> Path | None:
        """The folder this result was read from or written to (None when built in memory)."""
        return self._path.parent if self._path is not None else None

    def write(self, path: str | Path) -> Path:
        """Write the result as JSON atomically (an infinite or NaN float becomes null)."""
        target = Path(path)
        atomic_write_text(target, self.model_dump_json(indent=2) + "\n")
        self._path = target
        return target

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values (NaN and infinities as None), as written."""
        return json.loads(self.model_dump_json())

    def entry(self) -> dict[str, Any]:
        """`to_dict` without the stamps: the stage's entry in a run's shared metrics.json."""
        return {k: v for k, v in self.to_dict().items() if k not in self.STAMPS}

    @classmethod
    def read(cls, path: str | Path) -> Self:
        """Read and check a result file; any problem is one `ResultError` line naming the file."""
        target = Path(path)
        try:
            result = cls.model_validate_json(target.read_bytes())
        except FileNotFoundError:
            raise ResultError(target, "missing (the stage did not write its result)") from None
        except OSError as exc:
            raise ResultError(target, f"unreadable ({exc.strerror})") from None
        except ValidationError as exc:
            raise ResultError(target, _first_error(exc)) from None
        result._path = target
        return result


def read_result(path: str | Path, *kinds: type[StageResult]) -> StageResult:
    """Read a result file of one of `kinds`, chosen by the `kind` it holds (one-line `ResultError` otherwise)."""
    target = Path(path)
    try:
        kind = _Kind.model_validate_json(target.read_bytes()).kind
    except (OSError, ValidationError):
        kind = None  # let the first kind's reader say what is wrong
    chosen = next((k for k in kinds if k.KIND == kind), None)
    if kind is not None and chosen is None:
        raise ResultError(target, f"holds a {kind!r} result, not {' or '.join(repr(k.KIND) for k in kinds)}")
    return (chosen or kinds[0]).read(target)


class _Kind(BaseModel):
    kind: str | None = None


def _first_error(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(p) for p in error["loc"])
    if error["type"] == "json_invalid":
        return f"not JSON ({error['msg']})"
    message = error["msg"].removeprefix("Value error, ")
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where + ': ' if where else ''}{message}{more}".replace("\n", " ")


class CorpusStatsResult(StageResult):
    """Corpus statistics: the snapshot counted (or found unchanged), its totals per order and the counting work."""

    KIND: ClassVar[str] = "corpus-stats"
    FILE: ClassVar[str] = "corpus_stats.json"

    snapshot: str
    run_id: str
    corpus: str
    totals: dict[int, dict[str, int]]  # order -> ngrams, distinct
    vocab_size: int
    skipped: list[dict[str, str]] = []
    unchanged: bool = False
    changes: dict[str, list[str]] = {}  # added / changed / removed URIs
    reused_partitions: int = 0
    counted_partitions: int = 0
    timings: dict[str, float] = {}
    config: dict[str, Any] = {}  # corpus, text and ngram configs
    diff: dict[str, Any] | None = None  # against the snapshot this one replaced (seqpipe.ngrams.diff)

    @classmethod
    def from_count(cls, count: Any, config: dict[str, Any]) -> Self:
        """The result of a counting run (`seqpipe.ngrams.dask_count.CountResult`) and the configs behind it."""
        return cls.model_validate({**dataclasses.asdict(count), "snapshot": str(count.snapshot), "config": config})


class NgramLMResult(StageResult):
    """One n-gram LM: KenLM's test figures (a null perplexity with zero-probability tokens reads as inf)."""

    KIND: ClassVar[str] = "ngram-lm-metrics"
    FILE: ClassVar[str] = "metrics.json"

    name: str
    order: int
    smoothing: str
    k: float | None = None
    sources: list[str] = []
    ppl_incl_oov: float | None
    ppl_excl_oov: float | None
    oovs: int
    tokens: int
    nll: float | None = None
    uniform_ppl: float | None = None
    zero_prob_tokens: int = 0
    zero_prob_excl_oov: int = 0
    lines: int = 0
    vocab_size: int = 0
    ngrams: list[int] = []
    split: dict[str, dict[str, int]] = {}
    text: dict[str, str] = {}
    discounts: dict[str, list[float]] = {}
    discount_fallback: dict[str, str] = {}
    valid: dict[str, Any] | None = None
    config: dict[str, Any] = {}
    snapshot: str | None = None
    estimation: dict[str, float] = {}
    arpa: str | None = None
    samples: str | None = None
    metrics: str | None = None  # this file

    @model_validator(mode="after")
    def _infinite(self) -> Self:
        # JSON has no infinity: the file says null, the zero-probability counts say why
        if self.ppl_incl_oov is None and self.zero_prob_tokens:
            self.ppl_incl_oov = math.inf
        if self.ppl_excl_oov is None and self.zero_prob_excl_oov:
            self.ppl_excl_oov = math.inf
        return self


class NeuralLMResult(StageResult):
    """One neural LM: held-out perplexities, throughput, where its checkpoint is, and the per-epoch history."""

    KIND: ClassVar[str] = "lm-metrics"
    FILE: ClassVar[str] = "metrics.json"
    DETAILS: ClassVar[frozenset[str]] = frozenset({"valid", "test", "dynamic_test", "history", "config"})

    name: str
    model: str
    epochs: int
    steps: int
    stopped: str
    best_epoch: int | None = None
    train_ppl: float | None = None
    valid_ppl: float | None = None
    test_ppl: float | None = None
    valid_nats: float | None = None
    test_nats: float | None = None
    unigram_valid_ppl: float | None = None
    unigram_test_ppl: float | None = None
    tokens_per_s: float | None = None
    params: int = 0
    vocab_size: int = 0
    device: str = ""
    wall_s: float | None = None  # every run of this model, across resumes
    tokens: dict[str, int] = {}
    oov: dict[str, int] = {}
    checkpoint: str = ""
    softmax: str = "full"
    valid_eval_tokens: int = 0  # predicted tokens behind valid_ppl / test_ppl
    test_eval_tokens: int = 0
    valid_sampled: bool = False  # True: a fixed sample of the range, not all of it
    test_sampled: bool = False
    first_step_s: float | None = None
    dynamic_test_ppl: float | None = None  # the test by dynamic evaluation (`dynamic_lr`), a different protocol
    dynamic_test_nats: float | None = None
    dynamic_test_eval_tokens: int = 0
    dynamic_test_sampled: bool = False
    temperature: float = 1.0  # the softmax temperature of the test figures (1: not calibrated)
    calibration: dict[str, Any] | None = None  # Calibration.to_dict(): what the temperature was fitted on
    valid: dict[str, Any] | None = None  # PerplexityReport.to_dict() of the final evaluations
    test: dict[str, Any] | None = None
    dynamic_test: dict[str, Any] | None = None
    history: list[dict[str, Any]] = []
    config: dict[str, Any] = {}  # the LMRunConfig (empty in files of earlier versions: see config.json)

    def summary(self) -> dict[str, Any]:
        """The headline figures without the history and evaluations (the run's metrics.json entry, --json)."""
        return {k: v for k, v in self.entry().items() if k not in self.DETAILS}


class ErrorAt(BaseModel):
    """Mean squared and absolute error over n forecasts."""

    model_config = ConfigDict(extra="ignore")

    mse: float | None = None
    mae: float | None = None
    n: int = 0


class SeriesEntry(BaseModel):
    """A forecasting model or baseline: k-step, one-step and free-running errors."""

    model_config = ConfigDict(extra="ignore")

    k_step: dict[int, ErrorAt] = {}
    one_step: ErrorAt | None = None
    free_running: ErrorAt | None = None
    n_parameters: int | None = None
    train_seconds: float | None = None
    epoch_losses: list[float | None] = []
    history: int | None = None  # past values a model reads (its window)


class SeriesForecastResult(StageResult):
    """A forecast run: each model's and baseline's errors by horizon k, and the best model per k."""

    KIND: ClassVar[str] = "series-forecast"
    FILE: ClassVar[str] = "metrics.json"

    config: dict[str, Any]
    series: dict[str, Any] = {}
    split: dict[str, Any] = {}
    transform: dict[str, Any] = {}
    device: str = ""
    models: dict[str, SeriesEntry]
    baselines: dict[str, SeriesEntry]
    best_by_k: dict[int, dict[str, Any]] = {}  # model, mse, last_value_mse, beats_last_value
    definitions: dict[str, str] = {}


class ReportResult(StageResult):
    """A rendered report: its files, which sections had a stage behind them, and what could not be read."""

    KIND: ClassVar[str] = "run-report"
    FILE: ClassVar[str] = "report.json"

    html: str
    markdown: str
    plots: list[str] = []
    stages: dict[str, str] = {}  # section -> "ok" / "not run"
    lm_perplexity: list[dict[str, Any]] = []
    problems: list[str] = []
    rendered_at: str = ""
    render_s: float = 0.0
