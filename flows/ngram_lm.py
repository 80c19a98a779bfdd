"""Flow `ngram-lm`: n-gram language models of several orders on one corpus, one perplexity table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from seqpipe.config import Settings
from seqpipe.io import new_run_id
from seqpipe.ngrams.lm_config import NgramLMConfig
from tasks.ngram_lm import estimate_ngram_lm, publish_ngram_table


@flow(name="ngram-lm", log_prints=True)
def ngram_lm(
    sources: list[str] = ["timemachine"],  # noqa: B006 (Prefect parameters are copied per run)
    orders: list[int] = [2, 3, 4, 5],  # noqa: B006
    config: NgramLMConfig = NgramLMConfig(),  # noqa: B008 (frozen pydantic model: safe as a default)
    out: str | None = None,
) -> list[dict[str, Any]]:
    """Estimate `config` at each order (default: KenLM's modified Kneser-Ney, 90/10 line split) and compare."""
    run_dir = out or str(Path(Settings().out) / "runs" / new_run_id())
    summaries = [
        estimate_ngram_lm(sources, NgramLMConfig.model_validate({**config.model_dump(), "order": order}), run_dir)
        for order in orders
    ]
    publish_ngram_table(summaries)
    return summaries


if __name__ == "__main__":
    for row in ngram_lm():
        print(row["name"], row["ppl_incl_oov"], row["ppl_excl_oov"])
