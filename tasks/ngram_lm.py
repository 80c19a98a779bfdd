"""Prefect tasks for n-gram language models: estimate and score one model, publish a perplexity table."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.stage import run_and_save
from seqpipe.results import NgramLMResult

TABLE_KEY = "ngram-lm-perplexity"


@task(name="ngram-lm", cache_policy=NO_CACHE)  # writes files under a run folder: never cached
def estimate_ngram_lm(config: NgramLMConfig, out: str, snapshot: str | None = None,
                      sources: list[str] | None = None, memory: str = "2GiB") -> NgramLMResult:
    """Estimate one n-gram LM from a split snapshot (or sources, counted into a temporary one), score the
    held-out splits, save metrics, samples (and ARPA for mkn)."""
    logger = get_run_logger()
    result = run_and_save(config, out, snapshot=snapshot, sources=sources, memory=memory)
    logger.info(
        "%s on %s: ppl %s incl. OOVs, %s excl. (%s OOVs, %s tokens); uniform %s",
        result.name, snapshot or ", ".join(sources or []), result.ppl_incl_oov, result.ppl_excl_oov,
        result.oovs, result.tokens, result.uniform_ppl,
    )
    for order, why in result.discount_fallback.items():
        logger.warning("%s: order %s discounts fell back to %s (%s)", result.name, order,
                       config.discount_fallback, why)
    return result


@task(name="publish-ngram-lm-table", cache_policy=NO_CACHE)
def publish_ngram_table(results: list[NgramLMResult]) -> str:
    """One row per model: perplexity incl./excl. OOVs, OOVs, tokens, uniform baseline (artifact `ngram-lm-perplexity`)."""
    keys = ("name", "order", "smoothing", "ppl_incl_oov", "ppl_excl_oov", "oovs", "tokens", "uniform_ppl")
    rows = [{k: row[k] for k in keys} for row in (r.entry() for r in results)]
    return str(create_table_artifact(key=TABLE_KEY, table=rows,
                                     description="n-gram LMs on the test split (KenLM query's figures)"))
