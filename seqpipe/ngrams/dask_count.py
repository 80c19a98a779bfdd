"""The parallel counting job: plan partitions, count them on Dask workers, merge, publish a snapshot.

    summaries  <- count_to_entry(p)               one task per partition; its rows go to its entry on disk
    vocab      <- build_global_vocab(summaries)   on the client (small): global ids, bucket cuts
    files      <- merge_bucket_from_entries(n, b) one task per (order, w1 range): reads that range of every
                                                  entry, writes Parquet

Counts never depend on how the corpus was cut: n-grams crossing partition edges are counted once,
on the client, from each partition's first and last max_order-1 tokens. A refresh reuses the cached
counts of every partition whose bytes did not change, and does nothing when no input changed.
A refresh of a snapshot counted the same way merges into it instead (`incremental`), falling back to
the full merge here when it cannot.
"""

from __future__ import annotations

import math
import shutil
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.partition import Partition, count_partitions, plan_partitions, planned_size
from seqpipe.corpus.reader import FileInfo, content_hash, sniff
from seqpipe.corpus.sources import InputFile, corpus_name, expand_sources
from seqpipe.io import new_run_id
from seqpipe.ngrams import lm_split, merge, partition_cache, refresh, store, zipf
from seqpipe.ngrams.count import FileStats, PartitionCounts, PartitionSummary, count_partition
from seqpipe.ngrams.manifest import write_snapshot_files, write_vocab
from seqpipe.parallel import InlineClient, as_completed, cap_workers, usable_cpus
from seqpipe.text.vocab import Vocab

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# A merge task holds its bucket's rows (about 0.7 a token for trigrams) at ~90 bytes each while it sorts:
# 10 M tokens a bucket keep a task under 1 GB whatever the corpus size (10x Gutenberg: 19 buckets).
TOKENS_PER_BUCKET = 10_000_000
IN_PROCESS_REFRESH = 2  # partitions added + removed up to which a refresh does its work in this process,
IN_PROCESS_SHARE = 0.25  # or up to this share of the partitions (an eighth of them changed: added + removed)
# while their text (planned bytes, both sides) stays under this: their rows are all held at once (10x corpus,
# 10 of 80 files changed, 2 x 170 MB planned: 2.1 GB in one process, against 1.1 GB for a full count's)
IN_PROCESS_BYTES = 384 << 20


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
    reused_partitions: int = 0
    counted_partitions: int = 0
    changes: dict[str, list[str]] = field(default_factory=dict)  # added / changed / removed URIs
    unchanged: bool = False  # nothing changed: the previous snapshot is still current
    incremental: bool = False  # merged into the previous snapshot instead of merging every partition again


@dataclass
class Inputs:
    """The corpus as found now: files, what sniffing said, and content hashes."""

    files: list[InputFile]
    infos: list[FileInfo]
    hashes: list[str]


def inspect_inputs(corpus: CorpusConfig, settings: Settings | None = None,
                   previous: dict[str, dict[str, Any]] | None = None) -> Inputs:
    """Expand, sniff and hash every input; an empty or missing corpus fails here, before any work.

    A file whose size and mtime equal those in `previous` (the last manifest's inputs by URI) keeps
    its recorded hash instead of being read again, as make and rsync trust mtimes.
    """
    files = expand_sources(list(corpus.sources), settings)
    infos, hashes = [], []
    for f in files:
        info = sniff(f, corpus.binary_invalid_fraction)
        if info.skip_reason is None and f.size == 0:
            info = FileInfo(info.encoding, "empty file")
        infos.append(info)
        old = (previous or {}).get(f.uri)
        same = old is not None and old["size"] == f.size and old["mtime"] == f.mtime and old.get("sha256")
        try:
            hashes.append(old["sha256"] if same else content_hash(f))
        except OSError as exc:  # vanished or unreadable since sniffing: skipped with the reason, like there
            hashes.append("")
            infos[-1] = FileInfo(info.encoding, f"unreadable ({type(exc).__name__}: {exc})")
    if all(i.skip_reason for i in infos):
        reasons = "; ".join(f"{f.uri}: {i.skip_reason}" for f, i in zip(files, infos))
        raise CorpusError(f"the corpus holds no readable text ({reasons})")
    return Inputs(files, infos, hashes)


def counted_partition(partition: Partition, files: list[InputFile], infos: list[FileInfo], text: TextConfig,
                      orders: tuple[int, ...], cache_file: str | None,
                      max_line_bytes: int, with_lines: bool = False, save: bool = True) -> tuple[PartitionCounts, bool]:
    """Counts of one partition from the cache when there, else counted (and cached, unless `save` is off:
    then the caller saves them, see `save_counted`); (counts, reused)."""
    if cache_file:
        cached = partition_cache.load(Path(cache_file), partition)
        if cached is not None:
            return cached, True
    counts = count_partition(partition, files, infos, text, orders, max_line_bytes, with_lines)
    if cache_file and save:
        partition_cache.save(Path(cache_file), counts, partition)
    return counts, False


def partition_bytes(partition: Partition, files: list[InputFile]) -> int:
    """Bytes of text a partition plans to read (compressed files at their estimated expansion)."""
    return sum((piece.end if piece.end is not None else planned_size(files[piece.file_index])) - piece.start
               for piece in partition.pieces)


def save_counted(counted: tuple[PartitionCounts, bool], partition: Partition, cache_file: str) -> None:
    """Cache what `counted_partition(..., save=False)` counted (nothing when it came from the cache)."""
    counts, reused = counted
    if not reused:
        partition_cache.save(Path(cache_file), counts, partition)


def _previous_manifest(cdir: Path) -> dict[str, Any] | None:
    try:
        return store.read_manifest(cdir)
    except (CorpusError, OSError, ValueError):
        return None


def _changes(previous: dict[str, Any] | None, inputs: Inputs) -> dict[str, list[str]]:
    old = {i["uri"]: i["sha256"] for i in (previous or {}).get("inputs", [])}
    new = dict(zip((f.uri for f in inputs.files), inputs.hashes))
    return {"added": sorted(set(new) - set(old)), "removed": sorted(set(old) - set(new)),
            "changed": sorted(u for u in set(new) & set(old) if new[u] != old[u])}


def local_workers(corpus: CorpusConfig, ngram: NgramConfig, settings: Settings) -> tuple[int, str | None]:
    """Local Dask workers worth starting: at most one per CPU core and per partition; and why, when fewer.

    An existing cluster (`settings.dask_address`) and `workers=0` are taken as they are.
    """
    if ngram.workers <= 0 or settings.dask_address:
        return ngram.workers, None
    parts = count_partitions(expand_sources(list(corpus.sources), settings), ngram.blocksize)
    return cap_workers(ngram.workers, usable_cpus(), parts)


def count_corpus(
    corpus: CorpusConfig,
    text: TextConfig,
    ngram: NgramConfig,
    out_root: str | Path,
    client: Any,
    settings: Settings | None = None,
    on_progress: Progress | None = None,
    force: bool = False,
) -> CountResult:
    """Count every order of `ngram.orders` over the corpus and publish a snapshot under `out_root`.

    Unless `force`, a run whose inputs and config equal the latest snapshot's publishes nothing and
    returns that snapshot with `unchanged=True`.
    """
    progress = on_progress or (lambda stage, done, total: None)
    t0 = time.perf_counter()
    name = corpus.name or corpus_name(list(corpus.sources))
    cdir = store.corpus_dir(out_root, name)
    config = {"corpus": corpus.model_dump(mode="json"), "text": text.model_dump(mode="json"),
              "ngram": ngram.model_dump(mode="json")}
    with store.corpus_lock(cdir):
        previous = _previous_manifest(cdir)
        previous_inputs = {i["uri"]: i for i in previous["inputs"]} if previous else None
        inputs = inspect_inputs(corpus, settings, previous_inputs)
        changes = _changes(previous, inputs)
        timings = {"inspect": time.perf_counter() - t0}
        if previous and not force and previous["config"] == config and not any(changes.values()):
            snapshot = store.latest_snapshot(out_root, name)
            return CountResult(snapshot, previous["run_id"], name,
                               {int(n): t for n, t in previous["totals"].items()}, previous["vocab"]["distinct_tokens"],
                               [{"uri": i["uri"], "reason": i["skipped"]} for i in previous["inputs"] if i["skipped"]],
                               timings, changes=changes, unchanged=True)
        store.clean_staging(cdir)
        run_id = new_run_id()
        staging = store.staging_dir(cdir, run_id)
        # a refresh merges into the previous snapshot when it was counted the same way; `force` recounts in full
        base = cdir / "snapshots" / previous["run_id"] if (
            previous and not force and previous["config"] == config and ngram.reuse_counts and ngram.split is None
        ) else None
        try:
            result, keys = _count_and_write(inputs, name, cdir, staging, run_id, config, text, ngram, client,
                                            progress, timings, corpus.max_line_bytes, base)
            result.snapshot = store.publish(cdir, staging, run_id)
        except BaseException:
            store.remove_staging(staging)  # a kill -9 leaves it to the next run's clean-up
            raise
        if ngram.reuse_counts:  # only now: until the new snapshot is published, the previous one's entries serve
            partition_cache.prune(cdir / "partition-cache", set(keys))
    result.changes = changes
    return result


def _count_and_write(inputs: Inputs, name: str, cdir: Path, staging: Path, run_id: str, config: dict[str, Any],
                     text: TextConfig, ngram: NgramConfig, client: Any, progress: Progress,
                     timings: dict[str, float], max_line_bytes: int,
                     base: Path | None = None) -> tuple[CountResult, list[str]]:
    files, infos = inputs.files, inputs.infos
    partitions = plan_partitions(files, infos, ngram.blocksize)
    cache_dir = cdir / "partition-cache"
    if ngram.reuse_counts:
        cache_dir.mkdir(parents=True, exist_ok=True)  # entries are written into it, never making it themselves
    with_lines = ngram.split is not None
    keys = [partition_cache.cache_key(p, inputs.hashes, text, ngram.orders, max_line_bytes, with_lines)
            for p in partitions]
    record = refresh.read_record(base) if base is not None else None
    if record is not None and set(record.cuts) == set(ngram.orders):
        plan = refresh.plan(record, partitions, keys, [f.uri for f in files])
        # merging pays off while the recounted part is small; past half the corpus a full merge is cheaper
        if plan.unchanged and len(plan.added) + len(plan.removed) <= len(partitions):
            from seqpipe.ngrams import incremental  # it builds on this module's tasks: imported when needed

            # a refresh that reads a partition or two, or up to an eighth of them changed while their text stays
            # under IN_PROCESS_BYTES, runs in this process on as many threads as workers: shipping them to the
            # workers (the cluster's start, the rows' transfers to every bucket's merge) costs more than processes
            # save over threads (4x corpus, 4 of 32 files changed: 3.4 s on threads, 6.1 s on 2 workers)
            changed = len(plan.added) + len(plan.removed)
            small = changed <= IN_PROCESS_REFRESH or (changed <= int(len(partitions) * IN_PROCESS_SHARE) and 2 * sum(
                partition_bytes(partitions[i], files) for i in plan.added) <= IN_PROCESS_BYTES)
            done = incremental.refresh_and_write(plan, inputs, name, staging, run_id, config, text, ngram,
                                                 InlineClient() if small else client, progress, timings,
                                                 max_line_bytes, partitions, keys, cache_dir, base.name,
                                                 threads=min(max(ngram.workers, 1), usable_cpus()))
            if done is not None:
                return done, keys
            shutil.rmtree(staging / "ngrams", ignore_errors=True)  # the previous snapshot disagreed: count in full
    t = time.perf_counter()
    # each partition's rows go to its entry on disk (the cache, or a folder of this run's own): workers keep
    # only the summaries, and each merge task reads its w1 range of every entry
    rows_dir = cache_dir if ngram.reuse_counts else staging / ".rows"
    rows_dir.mkdir(parents=True, exist_ok=True)
    entries = [str(rows_dir / f"{k}.npz") for k in keys]
    inline = isinstance(client, InlineClient)
    # the file lists once per worker, not once per task (80 partitions of 80 files made a 9.6 MiB graph)
    listed = (files, infos) if inline else (client.submit(same, files, key=f"files-{run_id}"),
                                            client.submit(same, infos, key=f"infos-{run_id}"))
    heads = [client.submit(count_to_entry, p, *listed, text, ngram.orders, e, max_line_bytes, with_lines,
                           retries=1, key=f"count-{run_id}-{p.index}")
             for p, e in zip(partitions, entries)]
    for done, _ in enumerate(as_completed(client, heads), start=1):
        progress("count partitions", done, len(partitions))
    explain = task_names(run_id, partitions, files)
    summaries, reused = zip(*gather(client, heads, explain)) if heads else ((), ())
    timings["count"] = time.perf_counter() - t

    t = time.perf_counter()
    vocab = merge.build_global_vocab(list(summaries))
    n_buckets = n_buckets_for(list(summaries), name, text, ngram)
    cuts = merge.bucket_cuts(vocab, n_buckets)
    crossing = merge.cross_partition_rows(list(summaries), vocab, ngram.orders, text.boundary)
    # every merge task needs the id -> token table and the id mappings. A task that returns them, not
    # scatter(): scattered data lost with its workers cannot be recomputed, and the run would fail instead
    with warnings.catch_warnings():  # sent once, by design: Dask's advice against large graphs does not apply
        warnings.filterwarnings("ignore", "Sending large graph", UserWarning)
        alpha = vocab.alpha_tokens if inline else client.submit(same, vocab.alpha_tokens, key=f"alpha-{run_id}")
        mappings = vocab.mappings if inline else client.submit(same, vocab.mappings, key=f"mappings-{run_id}")
    sources = [(e, partition_cache.files_of(p)) for e, p in zip(entries, partitions)]
    tasks = {}
    # the highest order first: its merges are the longest, so the short unigram merges fill the end instead of
    # one long trigram merge running alone. Dask orders the tasks of one submission by the graph, not by when
    # they came (at 1x on 2 workers it ran unigram and bigram merges first and one worker idled 0.36 s at the
    # end): the order is the priority
    for n in sorted(ngram.orders, reverse=True):
        folder = staging / "ngrams" / f"n={n}"
        folder.mkdir(parents=True)
        crossing_parts = merge.split_rows(crossing[n], cuts)
        for b in range(n_buckets):
            tasks[n, b] = client.submit(merge.merge_bucket_from_entries, n, b, sources, mappings, cuts,
                                        crossing_parts[b], alpha, str(folder), key=f"merge-{run_id}-{n}-{b}", retries=1,
                                        priority=n)
    merged = [tasks[n, b] for n in ngram.orders for b in range(n_buckets)]
    book_vocab = None if inline else write_vocab_while_merging([alpha, mappings], staging, vocab, ngram.min_freq)
    for done, _ in enumerate(as_completed(client, merged), start=1):
        progress("merge and write", done, len(merged))
    buckets = [f for written in gather(client, merged, explain) for f in written]
    timings["merge"] = time.perf_counter() - t
    sections: dict[str, Any] = {}
    if ngram.split is not None:
        t = time.perf_counter()
        counts = [client.submit(load_counts, e, p, key=f"counts-{run_id}-{i}")
                  for i, (e, p) in enumerate(zip(entries, partitions))]
        sections = lm_split.write_split_outputs(
            client, counts, list(summaries), vocab, ngram.split, ngram.lm_boundary, ngram.lm_order or max(ngram.orders),
            n_buckets, staging, run_id, progress, lambda futures: gather(client, futures, explain))
        timings["split"] = time.perf_counter() - t
        del counts
    if not ngram.reuse_counts:
        shutil.rmtree(rows_dir)

    cut_words = refresh.cut_tokens(vocab.alpha_tokens, cuts)
    result = finish_snapshot(staging, run_id, name, config, inputs, ngram, partitions, keys, list(summaries),
                             list(reused), vocab, buckets, cut_words, timings, sections, book_vocab=book_vocab)
    return result, keys


def write_vocab_while_merging(inputs: list[Any], staging: Path, vocab: merge.GlobalVocab, min_freq: int) -> Vocab:
    """This process's part of the end, done while the workers merge: the vocabulary file and matplotlib's import.

    Only once the merges' `inputs` are computed: a local scheduler runs in this process, and this work beside it
    held the GIL it needs to hand out the merges (the first started 0.15-0.2 s after submission; after the wait
    0.05 s).
    """
    from distributed import wait

    wait(inputs)
    written = write_vocab(staging, vocab, min_freq)
    zipf.warm_up()
    return written


def finish_snapshot(staging: Path, run_id: str, name: str, config: dict[str, Any], inputs: Inputs, ngram: NgramConfig,
                    partitions: list[Partition], keys: list[str], summaries: list[PartitionSummary],
                    reused: list[bool], vocab: merge.GlobalVocab, buckets: list[merge.BucketResult],
                    cut_words: list[str | None], timings: dict[str, float], sections: dict[str, Any] | None = None,
                    incremental: bool = False, book_vocab: Vocab | None = None) -> CountResult:
    """Write vocab, Zipf plot, manifest and refresh record into the staging folder; the run's result."""
    t = time.perf_counter()
    files, infos = inputs.files, inputs.infos
    file_stats: dict[int, FileStats] = {}
    for s in summaries:
        for index, fs in s.file_stats.items():
            file_stats.setdefault(index, FileStats()).add(fs)
    totals = write_snapshot_files(
        staging, run_id=run_id, corpus=name, config=config, files=files, infos=infos, hashes=inputs.hashes,
        file_stats=file_stats, vocab=vocab, min_freq=ngram.min_freq, buckets=buckets, partitions=len(partitions),
        timings=timings, reused_partitions=sum(reused), sections=sections, book_vocab=book_vocab,
    )
    refresh.write_record(staging, partitions, keys, [f.uri for f in files], {n: cut_words for n in ngram.orders},
                         buckets)
    timings["write"] = time.perf_counter() - t
    skipped = [{"uri": f.uri, "reason": i.skip_reason} for f, i in zip(files, infos) if i.skip_reason]
    return CountResult(staging, run_id, name, totals, vocab.size, skipped, timings, reused_partitions=sum(reused),
                       counted_partitions=len(partitions) - sum(reused), incremental=incremental)


def n_buckets_for(summaries: list[PartitionSummary], name: str, text: TextConfig, ngram: NgramConfig) -> int:
    """How many w1 ranges the merge uses; a corpus without tokens fails here."""
    total_tokens = int(sum(s.n_tokens for s in summaries))
    if total_tokens == 0:
        raise CorpusError(f"corpus '{name}': no tokens after '{text.normalize}' normalization")
    # two tasks a worker while the corpus has 4 M tokens for each; more when memory asks for them
    parallel = min(2 * max(ngram.workers, 1), math.ceil(total_tokens / 4_000_000))
    return ngram.buckets or max(parallel, math.ceil(total_tokens / TOKENS_PER_BUCKET))


def same(value: Any) -> Any:
    """The value itself, as a task: data every task needs, recomputable if its worker is lost."""
    return value


def count_to_entry(partition: Partition, files: list[InputFile], infos: list[FileInfo], text: TextConfig,
                   orders: tuple[int, ...], entry: str, max_line_bytes: int,
                   with_lines: bool = False) -> tuple[PartitionSummary, bool]:
    """Count a partition into its entry on disk unless it is there; (summary, whether the entry was reused)."""
    path = Path(entry)
    if partition_cache.is_complete(path, orders, with_lines):
        summary = partition_cache.load_summary(path, partition)
        if summary is not None:
            return summary, True
    counts = count_partition(partition, files, infos, text, orders, max_line_bytes, with_lines)
    partition_cache.save(path, counts, partition)
    return counts.summary, False


def load_counts(entry: str, partition: Partition) -> PartitionCounts:
    """A partition's full counts back from its entry (the split stage needs its ids line by line)."""
    counts = partition_cache.load(Path(entry), partition)
    if counts is None:
        raise CorpusError(f"{entry}: the partition's counts vanished from the disk during the run")
    return counts


def summary_and_reuse(counted: tuple[PartitionCounts, bool]) -> tuple[PartitionSummary, bool]:
    """A counted partition's summary and whether it came from the cache (what the client gathers)."""
    return counted[0].summary, counted[1]


def task_names(run_id: str, partitions: list[Partition], files: list[InputFile]) -> Callable[[str], str]:
    """Turn a task key of this run into words: which partition (and its files) or which merge."""

    def explain(key: str) -> str:
        stage, _, rest = key.partition(f"-{run_id}-")
        numbers = [int(x) for x in rest.split("-") if x.isdigit()]
        if stage == "merge" and len(numbers) == 2:
            return f"merging the {numbers[0]}-grams of bucket {numbers[1]}"
        if numbers and numbers[0] < len(partitions):
            uris = ", ".join(dict.fromkeys(files[p.file_index].uri for p in partitions[numbers[0]].pieces))
            return f"partition {numbers[0]} ({uris})"
        return f"task {key}"

    return explain


def gather(client: Any, futures: list[Any], explain: Callable[[str], str]) -> list[Any]:
    """`client.gather`, where a task that killed every worker it ran on becomes a one-line CorpusError."""
    try:
        return client.gather(futures)
    except Exception as exc:
        if type(exc).__name__ != "KilledWorker":  # distributed's, without importing it for inline runs
            raise
        client.cancel(futures)  # stop the rest of the run's tasks instead of letting them go on
        tries = getattr(exc, "allowed_failures", 0) + 1
        raise CorpusError(
            f"{explain(str(exc.task))}: the worker process died each of the {tries} times it ran (a crash "
            "or out of memory), so the run was stopped; fix or remove the file, or raise --memory-limit"
        ) from None
