"""Flow `ngram-lm`: n-gram language models of several orders on one corpus, one perplexity table."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from seqpipe.config import Settings
from seqpipe.io import new_run_id
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.stage import find_snapshot
from seqpipe.results import NgramLMResult
from tasks.ngram_lm import estimate_ngram_lm, publish_ngram_table


@flow(name="ngram-lm", log_prints=True)
def ngram_lm(
    snapshot: str | None = None,
    sources: list[str] | None = None,
    orders: list[int] = [2, 3, 4, 5],  # noqa: B006 (Prefect parameters are copied per run)
    config: NgramLMConfig = NgramLMConfig(),  # noqa: B008 (frozen pydantic model: safe as a default)
    out: str | None = None,
    memory: str = "2GiB",
) -> list[NgramLMResult]:
    """Estimate `config` at each order from a split snapshot (a folder, or a corpus name: its LATEST), or
    from `sources` counted into a temporary one (default: The Time Machine), and compare."""
    run_dir = out or str(Path(Settings().out) / "runs" / new_run_id())
    found = find_snapshot(snapshot) if snapshot else None
    results = [
        estimate_ngram_lm(NgramLMConfig.model_validate({**config.model_dump(), "order": order}), run_dir,
                          snapshot=found, sources=None if found else (sources or ["timemachine"]), memory=memory)
        for order in orders
    ]
    publish_ngram_table(results)
    return results


if __name__ == "__main__":
    for row in ngram_lm():
        print(row.name, row.ppl_incl_oov, row.ppl_excl_oov)
