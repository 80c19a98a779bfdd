"""Prefect task for RNN language models: train one model, log its figures, publish a perplexity table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from seqpipe.train.config import LMRunConfig
from seqpipe.train.run import train_lm


@task(name="train-rnn-lm", cache_policy=NO_CACHE)  # training writes files and takes minutes: never cached
def train_rnn_lm(cfg: LMRunConfig, out: str, resume: str | None = None) -> dict[str, Any]:
    """Train one language model into `out`/models/<name>/; return its small summary."""
    logger = get_run_logger()
    logger.info("training %s on %s (%s)", cfg.model_name, ", ".join(cfg.data.sources), cfg.model.model_dump())
    summary = train_lm(cfg, Path(out), resume=resume).to_dict()
    logger.info(
        "%s: %s epochs (%s), train ppl %s, valid ppl %s, test ppl %s, %.0f tokens/s",
        summary["name"],
        summary["epochs"],
        summary["stopped"],
        summary["train_ppl"],
        summary["valid_ppl"],
        summary["test_ppl"],
        summary["tokens_per_s"] or 0.0,
    )
    return summary


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
