"""The n-gram LM stage: estimate from a split snapshot (or from sources through a temporary one), save it.

`seqpipe lm SOURCE...` and the pipeline's character models on raw sources count the sources into a
temporary split snapshot with the same Dask job as `stats --split`, then estimate from it exactly like
`lm --snapshot`: there is one estimator, `estimate_snapshot`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from seqpipe.config import NgramConfig, Settings
from seqpipe.io import update_run_metrics
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.estimate import SnapshotLMRun, estimate_snapshot
from seqpipe.ngrams.store import latest_snapshot, resolve_snapshot
from seqpipe.ngrams.temporary import temporary_split_snapshot
from seqpipe.results import NgramLMResult
from seqpipe.samples import write_samples

DEFAULT_MEMORY = "2GiB"


def estimate_sources(sources: Sequence[str], config: NgramLMConfig, memory: str | int = DEFAULT_MEMORY,
                     work_dir: str | Path | None = None, workers: int = 0, **kwargs: Any) -> SnapshotLMRun:
    """Count `sources` into a temporary split snapshot (config's split, text and boundary), estimate from it."""
    with temporary_split_snapshot(list(sources), normalize=config.normalize, tokens=config.tokens,
                                  split=config.split, lm_boundary=config.boundary, order=config.order,
                                  workers=workers) as snapshot:
        run = estimate_snapshot(snapshot, config, memory, work_dir, **kwargs)
    run.sources = list(sources)
    return run


def model_name(config: NgramLMConfig) -> str:
    """`ngram-<smoothing>-o<order>` (char models say so, so both can share a run folder)."""
    suffix = "" if config.tokens == "word" else f"-{config.tokens}"
    return f"ngram-{config.smoothing}-o{config.order}{suffix}"


def run_and_save(config: NgramLMConfig, out_dir: str | Path, *, snapshot: str | Path | None = None,
                 sources: Sequence[str] | None = None, memory: str | int = DEFAULT_MEMORY) -> NgramLMResult:
    """Estimate one model and write `models/<name>/{samples.json, lm.arpa}`, then its result
    `models/<name>/metrics.json` and the run's `metrics.json` entry under "ngram_lm"; return the result."""
    if (snapshot is None) == (sources is None):
        raise ValueError("give the n-gram LM stage a snapshot or sources (one of them)")
    out = Path(out_dir)
    name = model_name(config)
    folder = out / "models" / name
    arpa = folder / "lm.arpa" if config.smoothing == "mkn" and config.tokens == "word" else None
    kwargs: dict[str, Any] = {"arpa": arpa, "prefix_samples": True}
    if snapshot is not None:
        run = estimate_snapshot(snapshot, config, memory, **kwargs)
    else:
        run = estimate_sources(sources or [], config, memory, **kwargs)
    path = folder / NgramLMResult.FILE
    result = NgramLMResult.model_validate({
        "name": name, **run.summary(), "config": run.config.model_dump(mode="json"),
        "snapshot": str(snapshot) if snapshot is not None else None,
        "estimation": {"seconds": round(run.seconds, 3), "peak_rss_mb": round(run.peak_rss / 2**20, 1)},
        "arpa": str(arpa) if arpa is not None else None,
        "samples": str(write_samples(folder, run.prefix_samples)), "metrics": str(path),
    })
    result.write(path)
    update_run_metrics(out, "ngram_lm", result.entry(), name)
    return result


def find_snapshot(value: str | Path, out_root: str | Path | None = None) -> str:
    """A snapshot folder, a corpus folder (its LATEST), or a corpus name under the output root (its LATEST)."""
    path = Path(value)
    if path.exists():
        return str(resolve_snapshot(path))
    return str(latest_snapshot(out_root or Settings().out, str(value)))


def counting_for_lm(ngram: NgramConfig, lm: NgramLMConfig, orders: Sequence[int]) -> NgramConfig:
    """The counting config that also writes what the n-gram LMs of `orders` need (split, LM counts up to max)."""
    return ngram.model_copy(update={"split": ngram.split or lm.split, "lm_boundary": lm.boundary,
                                    "lm_order": max(max(orders), ngram.lm_order or 1)})
