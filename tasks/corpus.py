"""Prefect tasks for corpus statistics: one task owns the whole Dask counting graph."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.ngrams import diff as snapshot_diff
from seqpipe.ngrams import store
from seqpipe.ngrams.dask_count import count_corpus, local_workers
from seqpipe.ngrams.history import previous_snapshot, triggered_by
from seqpipe.parallel import dask_client
from seqpipe.results import CorpusStatsResult


@task(name="count-ngrams", retries=1, retry_delay_seconds=2, cache_policy=NO_CACHE)
def count_ngrams(
    corpus: CorpusConfig, text: TextConfig, ngram: NgramConfig, out: str | None = None, force: bool = False
) -> CorpusStatsResult:
    """Count n-grams on a local Dask cluster (or SEQPIPE_DASK_ADDRESS) and publish a snapshot.

    Unchanged partitions reuse their cached counts; with nothing changed no snapshot is published.
    """
    logger = get_run_logger()
    settings = Settings()
    progress_id = create_progress_artifact(progress=0.0, description="corpus counting")

    def on_progress(stage: str, done: int, total: int) -> None:
        # counting is the first half of the work, merging the second
        share = 50.0 * done / max(total, 1) + (50.0 if stage.startswith("merge") else 0.0)
        update_progress_artifact(progress_id, progress=share)

    workers, _ = local_workers(corpus, ngram, settings)  # a small corpus starts fewer worker processes
    with dask_client(workers, settings.dask_address, ngram.memory_limit) as client, triggered_by(_trigger()):
        result = count_corpus(corpus, text, ngram, out or settings.out, client, settings, on_progress, force)
    update_progress_artifact(progress_id, progress=100.0)
    if result.unchanged:
        logger.info("corpus %s unchanged since snapshot %s", result.corpus, result.run_id)
    else:
        logger.info("partitions counted %d, reused %d; files added %d, changed %d, removed %d",
                    result.counted_partitions, result.reused_partitions,
                    *(len(result.changes.get(k, [])) for k in ("added", "changed", "removed")))
    manifest = store.read_manifest(result.snapshot)
    for s in result.skipped:
        logger.warning("skipped %s: %s", s["uri"], s["reason"])
    logger.info("snapshot %s: %s", result.snapshot, result.totals)
    create_table_artifact(
        key="ngram-top-k",
        table=[{"order": n, "ngram": g, "match_count": c} for n, rows in manifest["top"].items() for g, c in rows[:10]],
        description=f"Most frequent n-grams of {result.corpus}",
    )
    create_markdown_artifact(key="corpus-stats", markdown=_markdown(manifest, str(result.snapshot)))
    configs = {"corpus": corpus, "text": text, "ngram": ngram}
    return CorpusStatsResult.from_count(result, {k: c.model_dump(mode="json") for k, c in configs.items()})


@task(name="record-corpus-stats", cache_policy=NO_CACHE)
def record_corpus_stats(result: CorpusStatsResult, run_dir: str) -> str:
    """Write the corpus-stats result into a run folder (`corpus_stats.json`, what the report reads)."""
    return str(result.write(Path(run_dir) / CorpusStatsResult.FILE))


def _trigger() -> str:
    """`prefect:<flow>` plus the deployment's name when a deployment started the run (history's trigger)."""
    from prefect.runtime import deployment, flow_run

    name = f"prefect:{flow_run.flow_name or 'flow'}"
    return f"{name} ({deployment.name})" if deployment.name else name


@task(name="snapshot-diff", cache_policy=NO_CACHE)
def publish_snapshot_diff(summary: CorpusStatsResult, k: int = 10) -> dict[str, Any] | None:
    """Diff a newly published snapshot against the one it replaced; publish it as the `corpus-diff` artifact."""
    logger = get_run_logger()
    previous = None if summary.unchanged else previous_snapshot(summary.snapshot)
    if previous is None:
        logger.info("no snapshot diff: nothing new was published or it is the corpus' first snapshot")
        return None
    reason = snapshot_diff.why_not_comparable(store.read_manifest(previous), store.read_manifest(summary.snapshot))
    if reason:
        logger.info("no snapshot diff against %s: %s", previous.name, reason)
        return {"run_a": previous.name, "run_b": summary.run_id, "skipped": reason}
    found = snapshot_diff.diff_snapshots(previous, summary.snapshot, k)
    folder = snapshot_diff.write_diff(found)
    create_markdown_artifact(key="corpus-diff", markdown=snapshot_diff.to_markdown(found, k),
                             description=f"{found.corpus}: what changed since snapshot {previous.name}")
    logger.info("snapshot diff: %s", folder)
    return {**found.summary(), "folder": str(folder)}


def _markdown(manifest: dict[str, Any], snapshot: str) -> str:
    s = manifest["summary"]
    rows = "\n".join(
        f"| {n} | {t['ngrams']:,} | {t['distinct']:,} | {manifest['zipf'][n]['alpha_ranks_10_1000'] or float('nan'):.2f} |"
        for n, t in manifest["totals"].items()
    )
    return (
        f"# Corpus `{manifest['corpus']}`\n\nSnapshot `{snapshot}`\n\n"
        f"{s['files']} files ({s['files_skipped']} skipped), {s['lines']:,} lines, {s['bad_bytes']} invalid bytes, "
        f"vocabulary {manifest['vocab']['size']:,}\n\n| order | n-grams | distinct | Zipf α (ranks 10-1000) |\n"
        f"|---|---|---|---|\n{rows}\n"
    )
