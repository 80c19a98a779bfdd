"""The parallel counting job: plan partitions, count them on Dask workers, merge, publish a snapshot.

    summaries  <- count_partition(p)            one task per partition (n-gram rows stay on workers)
    vocab      <- build_global_vocab(summaries)  on the client (small)
    buckets    <- remap_partition(p, mapping)    one task per partition
    files      <- merge_bucket(order, bucket)    one task per (order, w1-range), writes Parquet

Counts never depend on how the corpus was cut: n-grams crossing partition edges are counted once,
on the client, from each partition's first and last max_order-1 tokens.
"""

from __future__ import annotations

import math
import operator
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.partition import plan_partitions
from seqpipe.corpus.reader import FileInfo, content_hash, sniff
from seqpipe.corpus.sources import corpus_name, expand_sources
from seqpipe.io import new_run_id
from seqpipe.ngrams import merge, store
from seqpipe.ngrams.count import FileStats, PartitionCounts, count_partition
from seqpipe.ngrams.manifest import write_snapshot_files
from seqpipe.parallel import InlineClient, as_completed

Progress = Callable[[str, int, int], None]  # (stage, done, total)
TOKENS_PER_BUCKET = 4_000_000


@dataclass
class CountResult:
    """What a counting run produced: where the snapshot is and its headline figures."""

    snapshot: Path
    run_id: str
    corpus: str
    totals: dict[int, dict[str, int]]
    vocab_size: int
    skipped: list[dict[str, str]]
    timings: dict[str, float] = field(default_factory=dict)


def _summary(counts: PartitionCounts):
    return counts.summary


def _counted(partition, files, infos, text, orders):
    try:
        return count_partition(partition, files, infos, text, orders)
    except (OSError, EOFError) as exc:  # a truncated .gz, a file that vanished or lost its permissions
        uris = ", ".join(files[p.file_index].uri for p in partition.pieces)
        raise CorpusError(f"{uris}: cannot be read ({type(exc).__name__}: {exc})") from None


def inspect_inputs(corpus: CorpusConfig, settings: Settings | None = None) -> tuple[list, list[FileInfo], list[str]]:
    """Expand sources, sniff every file and hash it; an empty or missing corpus fails here, before any work."""
    files = expand_sources(list(corpus.sources), settings)
    infos = []
    for f in files:
        info = sniff(f, corpus.binary_nul_fraction)
        if info.skip_reason is None and f.size == 0:
            info = FileInfo(info.encoding, "empty file")
        infos.append(info)
    if all(i.skip_reason for i in infos):
        reasons = "; ".join(f"{f.uri}: {i.skip_reason}" for f, i in zip(files, infos))
        raise CorpusError(f"the corpus holds no readable text ({reasons})")
    hashes = [content_hash(f) for f in files]
    return files, infos, hashes


def count_corpus(
    corpus: CorpusConfig,
    text: TextConfig,
    ngram: NgramConfig,
    out_root: str | Path,
    client: Any,
    settings: Settings | None = None,
    on_progress: Progress | None = None,
) -> CountResult:
    """Count every order of `ngram.orders` over the corpus and publish a snapshot under `out_root`."""
    progress = on_progress or (lambda stage, done, total: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    files, infos, hashes = inspect_inputs(corpus, settings)
    name = corpus.name or corpus_name(list(corpus.sources))
    cdir = store.corpus_dir(out_root, name)
    partitions = plan_partitions(files, infos, ngram.blocksize)
    timings["inspect"] = time.perf_counter() - t0

    with store.corpus_lock(cdir):
        store.clean_staging(cdir)
        run_id = new_run_id()
        staging = store.staging_dir(cdir, run_id)
        try:
            t = time.perf_counter()
            counted = [
                client.submit(_counted, p, files, infos, text, ngram.orders, retries=1, key=f"count-{run_id}-{p.index}")
                for p in partitions
            ]
            summary_futures = [client.submit(_summary, c, key=f"summary-{run_id}-{i}") for i, c in enumerate(counted)]
            for done, _ in enumerate(as_completed(client, summary_futures), start=1):
                progress("count partitions", done, len(partitions))
            summaries = client.gather(summary_futures)
            timings["count"] = time.perf_counter() - t

            t = time.perf_counter()
            vocab = merge.build_global_vocab(summaries)
            total_tokens = int(sum(s.n_tokens for s in summaries))
            if total_tokens == 0:
                raise CorpusError(f"corpus '{name}': no tokens after '{text.normalize}' normalization")
            n_buckets = ngram.buckets or max(1, min(2 * max(ngram.workers, 1), math.ceil(total_tokens / TOKENS_PER_BUCKET)))
            cuts = merge.bucket_cuts(vocab, n_buckets)
            crossing = merge.cross_partition_rows(summaries, vocab, ngram.orders, text.boundary)
            remapped = [
                client.submit(merge.remap_partition, c, m, cuts, key=f"remap-{run_id}-{i}")
                for i, (c, m) in enumerate(zip(counted, vocab.mappings))
            ]
            # every merge task needs the id -> token table: ship it to each worker once
            alpha = vocab.alpha_tokens if isinstance(client, InlineClient) else client.scatter(vocab.alpha_tokens, broadcast=True)
            merged = []
            for n in ngram.orders:
                folder = staging / "ngrams" / f"n={n}"
                folder.mkdir(parents=True)
                crossing_parts = merge.split_rows(crossing[n], cuts)
                for b in range(n_buckets):
                    parts = [client.submit(operator.getitem, r, (n, b), key=f"pick-{run_id}-{i}-{n}-{b}") for i, r in enumerate(remapped)]
                    merged.append(
                        client.submit(
                            merge.merge_bucket, n, b, [*parts, crossing_parts[b]], alpha, str(folder / f"part-{b:05d}.parquet"),
                            key=f"merge-{run_id}-{n}-{b}", retries=1,
                        )
                    )
            for done, _ in enumerate(as_completed(client, merged), start=1):
                progress("merge and write", done, len(merged))
            buckets = client.gather(merged)
            del counted, remapped, summary_futures  # release worker memory before writing the rest
            timings["merge"] = time.perf_counter() - t

            t = time.perf_counter()
            file_stats: dict[int, FileStats] = {}
            for s in summaries:
                for index, fs in s.file_stats.items():
                    file_stats.setdefault(index, FileStats()).add(fs)
            totals = write_snapshot_files(
                staging, run_id=run_id, corpus=name, config={"corpus": corpus, "text": text, "ngram": ngram},
                files=files, infos=infos, hashes=hashes, file_stats=file_stats, vocab=vocab,
                min_freq=ngram.min_freq, buckets=buckets, partitions=len(partitions), timings=timings,
            )
            snapshot = store.publish(cdir, staging, run_id)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # a kill -9 leaves it to the next run's clean-up
            raise
        timings["write"] = time.perf_counter() - t
    skipped = [{"uri": f.uri, "reason": i.skip_reason} for f, i in zip(files, infos) if i.skip_reason]
    return CountResult(snapshot, run_id, name, totals, vocab.size, skipped, timings)
