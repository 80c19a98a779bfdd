"""Prefect task for RNN language models: train one model, log its figures, publish a perplexity table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from prefect import get_run_logger, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE

from seqpipe.results import NeuralLMResult
from seqpipe.train.config import LMRunConfig
from seqpipe.train.run import train_lm
from seqpipe.train.trials import run_trial


class PrefectProgress:
    """The library's progress callback as a Prefect progress artifact (updated at most every `every` s).

    Training moves it from 0 to 90 % (steps, or seconds of the budget), the final evaluations to 100 %.
    """

    SHARE: ClassVar[dict[str, tuple[float, float]]] = {
        "train": (0.0, 90.0), "calibrate": (90.0, 91.0), "valid": (91.0, 94.0), "test": (94.0, 97.0),
        "dynamic test": (97.0, 100.0),
    }

    def __init__(self, description: str, every: float = 2.0) -> None:
        self.id = create_progress_artifact(progress=0.0, description=description)
        self.every, self.last, self.value = every, 0.0, 0.0

    def __call__(self, phase: str, done: int, total: int) -> None:
        lo, hi = self.SHARE.get(phase, (0.0, 100.0))
        value = lo + (hi - lo) * min(done / total, 1.0) if total else lo
        now = time.monotonic()
        if value > self.value and (now - self.last >= self.every or done >= total):
            update_progress_artifact(artifact_id=self.id, progress=round(value, 1))
            self.last, self.value = now, value


@task(name="train-rnn-lm", cache_policy=NO_CACHE)  # training writes files and takes minutes: never cached
def train_rnn_lm(cfg: LMRunConfig, out: str, resume: str | None = None) -> NeuralLMResult:
    """Train one language model into `out`/models/<name>/; return its result (as written to metrics.json)."""
    logger = get_run_logger()
    logger.info("training %s on %s (%s)", cfg.model_name, ", ".join(cfg.data.sources), cfg.model.model_dump())
    progress = PrefectProgress(f"training {cfg.model_name}")
    result = train_lm(cfg, Path(out), resume=resume, on_progress=progress)
    progress("dynamic test", 1, 1)  # done, whichever evaluations ran
    logger.info("%s: %s epochs (%s), train ppl %s, valid ppl %s, test ppl %s, %.0f tokens/s", result.name,
                result.epochs, result.stopped, result.train_ppl, result.valid_ppl, result.test_ppl,
                result.tokens_per_s or 0.0)
    return result


@task(name="train-lm-trial", cache_policy=NO_CACHE)
def train_trial(cfg_doc: dict[str, Any], out: str, threads: int | None = None) -> dict[str, Any]:
    """Train one grid trial (resuming from its checkpoint after a lost worker); return its trials row."""
    logger = get_run_logger()
    progress = PrefectProgress(f"trial {cfg_doc.get('name')}")
    row = run_trial(cfg_doc, out, threads, on_progress=progress)
    progress("dynamic test", 1, 1)  # done, whichever evaluations ran
    logger.info("%s: %s, valid ppl %s, %.0f tokens/s, %.1f s%s", row["name"], row["status"], row.get("valid_ppl"),
                row.get("tokens_per_s") or 0.0, row["wall_s"], f" ({row['reason']})" if row["reason"] else "")
    return row


@task(name="publish-rnn-lm-table", cache_policy=NO_CACHE)
def publish_perplexity_table(summaries: list[dict[str, Any]]) -> str:
    """Publish one row per model (train / valid / test ppl, unigram baseline) as `rnn-lm-perplexity`."""
    keys = (
        "name",
        "model",
        "epochs",
        "train_ppl",
        "valid_ppl",
        "test_ppl",
        "unigram_valid_ppl",
        "unigram_test_ppl",
        "tokens_per_s",
        "params",
    )
    rows = [{k: s.get(k) for k in keys} for s in summaries]
    return str(
        create_table_artifact(
            key="rnn-lm-perplexity",
            table=rows,
            description="RNN language models: token-weighted perplexity (natural log)",
        )
    )
