"""The incremental refresh: the previous snapshot plus the signed delta of the partitions that changed.

    summaries  <- cached summary (unchanged) | counted (added) | cached counts of the previous run (removed)
    delta      <- remap(added) - remap(removed), in one id space that also holds the removed tokens
    files      <- refresh_bucket(order, bucket)  per previous file: a hard link, or its delta merged in

Unchanged partitions only send their summary (the vocabulary and the n-grams across edges need it);
their n-gram rows are never read, and nothing is sorted but the delta. `dask_count` calls this and falls
back to a full merge when it returns None.
"""

from __future__ import annotations

import operator
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqpipe.config import NgramConfig, TextConfig
from seqpipe.corpus.partition import Partition
from seqpipe.corpus.reader import FileInfo
from seqpipe.corpus.sources import InputFile
from seqpipe.ngrams import dask_count, delta_merge, merge, partition_cache, refresh, zipf
from seqpipe.ngrams.count import PartitionCounts, PartitionSummary
from seqpipe.ngrams.manifest import write_vocab
from seqpipe.parallel import InlineClient, as_completed


def refresh_and_write(plan: refresh.Plan, inputs: dask_count.Inputs, name: str, staging: Path, run_id: str,
                      config: dict[str, Any], text: TextConfig, ngram: NgramConfig, client: Any,
                      progress: dask_count.Progress,
                      timings: dict[str, float], max_line_bytes: int, partitions: list[Partition], keys: list[str],
                      cache_dir: Path, base_run_id: str, threads: int = 1) -> dask_count.CountResult | None:
    """Write the refreshed snapshot into `staging`; None when the previous run's counts are not all in the
    cache or do not fit the previous snapshot (the caller then merges in full). With an `InlineClient`, the
    work runs on `threads` threads."""
    args = (plan, inputs, name, staging, run_id, config, text, ngram)
    rest = (progress, timings, max_line_bytes, partitions, keys, cache_dir, base_run_id)
    if threads <= 1 or not isinstance(client, InlineClient):
        return _refresh(*args, client, *rest)
    # a refresh done in this process still has the cores it was given: reading and writing Parquet and numpy's
    # sorts release the GIL, so its tasks go to a pool of that many threads, which takes them in the order
    # submitted: the recount of a changed partition runs beside the loading of the cached ones, its cache
    # entry is written beside the client's vocabulary work, the buckets beside one another
    pool = ThreadPoolExecutor(threads, thread_name_prefix="refresh")
    try:
        return _refresh(*args, InlineClient(pool), *rest)
    finally:  # a mismatch or Ctrl-C: tasks not started never start, and none writes after this returns
        pool.shutdown(wait=True, cancel_futures=True)


def _refresh(plan: refresh.Plan, inputs: dask_count.Inputs, name: str, staging: Path, run_id: str,
             config: dict[str, Any], text: TextConfig, ngram: NgramConfig, client: Any, progress: dask_count.Progress,
             timings: dict[str, float], max_line_bytes: int, partitions: list[Partition], keys: list[str],
             cache_dir: Path, base_run_id: str) -> dask_count.CountResult | None:
    files, infos, orders = inputs.files, inputs.infos, ngram.orders
    uris = [f.uri for f in files]
    entries = plan.record.partitions
    inline = isinstance(client, InlineClient)
    threaded = inline and client.pool is not None  # counts are cached by a task of their own, not by the count

    def count(i: int) -> Any:
        return client.submit(dask_count.counted_partition, partitions[i], files, infos, text, orders,
                             str(cache_dir / f"{keys[i]}.npz"), max_line_bytes, save=not threaded, retries=1,
                             key=f"count-{run_id}-{i}")

    def save(i: int) -> Any:
        return client.submit(dask_count.save_counted, full[i], partitions[i], str(cache_dir / f"{keys[i]}.npz"),
                             key=f"save-{run_id}-{i}")

    def previous(j: int) -> Any:
        e = entries[j]
        return client.submit(partition_cache.load_entry, str(cache_dir / f"{e['key']}.npz"), j, e["files"],
                             e["continues"], key=f"previous-{run_id}-p{j}")

    t = time.perf_counter()
    # submitted in this order so that a pool's threads never wait for a recount they could run beside
    full = {i: count(i) for i in plan.added}
    heads = {i: client.submit(_cached_summary, partitions[i], files, infos, text, orders,
                              str(cache_dir / f"{keys[i]}.npz"), max_line_bytes, retries=1,
                              key=f"summary-{run_id}-{i}") for i in plan.unchanged}
    old_full = {j: previous(j) for j in plan.removed}
    old_heads = [client.submit(_summary_of, old_full[j], key=f"previous-summary-{run_id}-p{j}") for j in plan.removed]
    if threaded:  # the thread that loaded the cached summaries would wait for the recount: it imports matplotlib
        client.submit(zipf.warm_up)  # meanwhile, for the Zipf plot at the end (0.25-0.3 s in a fresh process)
    saves = [save(i) for i in plan.added] if threaded else []
    heads |= {i: client.submit(dask_count.summary_and_reuse, c, key=f"summary-{run_id}-{i}")
              for i, c in full.items()}
    ordered = [heads[i] for i in range(len(partitions))]
    for done, _ in enumerate(as_completed(client, ordered), start=1):
        progress("count partitions", done, len(partitions))
    explain = dask_count.task_names(run_id, partitions, files)
    summaries, reused = (list(x) for x in zip(*dask_count.gather(client, ordered, explain)))
    removed = dict(zip(plan.removed, dask_count.gather(client, old_heads, explain)))
    timings["count"] = time.perf_counter() - t

    t = time.perf_counter()
    vocab = merge.build_global_vocab(summaries)
    n_buckets = dask_count.n_buckets_for(summaries, name, text, ngram)
    cut_words = plan.record.cuts[orders[0]]
    if any(s is None for s in removed.values()) or any(
            plan.record.cuts[n] != cut_words or len(cut_words) + 1 != n_buckets for n in orders):
        return None  # a previous count left the cache, or the bucket layout would change: merge in full
    vocab_written = client.submit(write_vocab, staging, vocab, ngram.min_freq) if threaded else None
    alpha = refresh.union_tokens(vocab.alpha_tokens, list(removed.values()))
    index = pd.Index(alpha, dtype=object)  # one hash table of the tokens for every lookup below
    space = merge.GlobalVocab(alpha, vocab.by_frequency, [])
    old_summaries = refresh.old_summaries(plan, summaries, removed, uris)
    crossing = [merge.cross_partition_rows(s, space, orders, text.boundary, index) for s in (old_summaries, summaries)]
    refresh.add_extra(plan, partitions, uris, refresh.touched_files(plan, partitions, uris, *crossing))
    full |= {i: count(i) for i in plan.extra}
    saves += [save(i) for i in plan.extra] if threaded else []
    old_full |= {plan.unchanged[i]: previous(plan.unchanged[i]) for i in plan.extra}

    cuts = refresh.cuts_from_tokens(alpha, cut_words)
    old_rows = [client.submit(_remapped, c, index.get_indexer(old_summaries[j].uniques).astype(np.int32), cuts,
                              key=f"previous-remap-{run_id}-p{j}") for j, c in old_full.items()]
    new_rows = [client.submit(_remapped, client.submit(operator.itemgetter(0), c, key=f"counts-{run_id}-{i}"),
                              index.get_indexer(summaries[i].uniques).astype(np.int32), cuts, key=f"remap-{run_id}-{i}")
                for i, c in full.items()]
    # the remaps hold what they need: the counts themselves are dropped once remapped (a refresh of ten
    # partitions in this process at 10x: peak RSS 2.4 -> 2.1 GB; the limit: dask_count.IN_PROCESS_BYTES)
    full.clear()
    old_full.clear()
    # the token lookup as a task's result, not scattered (see dask_count); one object per worker
    lookup = index if inline else client.submit(dask_count.same, index, key=f"alpha-{run_id}")

    def parts(rows: list[Any], side: str, n: int, b: int, cross: merge.Rows) -> list[Any]:
        return [*(client.submit(operator.getitem, r, (n, b), key=f"pick-{side}-{run_id}-x{k}-{n}-{b}")
                  for k, r in enumerate(rows)), cross]

    book_vocab = None
    try:  # inline runs raise at submit (on a pool: when waited for), Dask at gather
        tasks = {}
        for n in sorted(orders, reverse=True):  # the longest merges first, as in a full count
            folder = staging / "ngrams" / f"n={n}"
            folder.mkdir(parents=True)
            old_cross, new_cross = (merge.split_rows(c[n], cuts) for c in crossing)
            for b in range(n_buckets):
                tasks[n, b] = client.submit(delta_merge.refresh_bucket, n, b, parts(old_rows, "old", n, b, old_cross[b]),
                                            parts(new_rows, "new", n, b, new_cross[b]), plan.record.buckets[n][b],
                                            lookup, str(folder), key=f"merge-{run_id}-{n}-{b}", retries=1,
                                            priority=n)
        if threaded:  # a mismatch in any bucket stops the rest early
            for future in wait(tasks.values(), return_when=FIRST_EXCEPTION).done:
                future.result()
        elif not inline:  # as a full count does (0.4 s of a 5.5 s refresh at 4x when left to the end)
            book_vocab = dask_count.write_vocab_while_merging([lookup], staging, vocab, ngram.min_freq)
        merged = [tasks[n, b] for n in orders for b in range(n_buckets)]
        for done, _ in enumerate(as_completed(client, merged), start=1):
            progress("merge and write", done, len(merged))
        buckets = [f for written in dask_count.gather(client, merged, explain) for f in written]
    except delta_merge.DeltaMismatch:
        return None
    if vocab_written:
        book_vocab = vocab_written.result()
    for saved in saves:  # the recounted partitions' cache entries, before the snapshot that needs them is published
        saved.result()
    timings["merge"] = time.perf_counter() - t
    sections = {"incremental": {"from_run_id": base_run_id, "partitions_added": len(plan.added),
                                "partitions_removed": len(plan.removed), "partitions_reread": len(plan.extra)}}
    return dask_count.finish_snapshot(staging, run_id, name, config, inputs, ngram, partitions, keys, summaries,
                                      reused, vocab, buckets, cut_words, timings, sections, incremental=True,
                                      book_vocab=book_vocab)


def _cached_summary(partition: Partition, files: list[InputFile], infos: list[FileInfo], text: TextConfig,
                    orders: tuple[int, ...], cache_file: str, max_line_bytes: int) -> tuple[PartitionSummary, bool]:
    """An unchanged partition's summary, read alone from its cache entry (counted again if the entry is gone)."""
    summary = partition_cache.load_summary(Path(cache_file), partition)
    if summary is not None:
        return summary, True
    counts, _ = dask_count.counted_partition(partition, files, infos, text, orders, cache_file, max_line_bytes)
    return counts.summary, False


def _summary_of(counts: PartitionCounts | None) -> PartitionSummary | None:
    return None if counts is None else counts.summary


def _remapped(counts: PartitionCounts | None, mapping: np.ndarray, cuts: np.ndarray) -> dict[tuple[int, int], Any]:
    """`merge.remap_partition`, where cached counts that went missing since they were planned stop the refresh."""
    if counts is None:
        raise delta_merge.DeltaMismatch("cached counts of a partition went missing")
    return merge.remap_partition(counts, mapping, cuts)
