"""Global side of counting: one vocabulary for all partitions, n-grams across partition edges,
remapping to global ids, and the per-bucket merge that writes sorted Parquet files.

Global ids are ranks in alphabetical (code point) order, so a packed id tuple sorts like the
n-gram's strings and each bucket file comes out sorted by (w1, w2, ...). Buckets are ranges of w1,
so the files of one order are also sorted among themselves.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seqpipe.config import Boundary
from seqpipe.ngrams import partition_cache
from seqpipe.ngrams.count import PartitionCounts, PartitionSummary
from seqpipe.ngrams.keys import group_rows, top_indices
from seqpipe.ngrams.schema import ngram_schema

Rows = tuple[list[np.ndarray], np.ndarray, np.ndarray]  # id columns, match_count, file index per row


@dataclass
class GlobalVocab:
    """Every token of the corpus: alphabetical order (the id space) and frequency order (the vocab)."""

    alpha_tokens: np.ndarray  # object array, sorted: global id -> token
    by_frequency: pd.DataFrame  # token, match_count, in d2l vocab order (count desc, first occurrence)
    mappings: list[np.ndarray]  # per partition: local id -> global id
    first_rank: np.ndarray | None = None  # global id -> rank of its first occurrence in corpus order
    alpha_counts: np.ndarray | None = None  # global id -> match_count

    @property
    def size(self) -> int:
        """Number of distinct tokens."""
        return len(self.alpha_tokens)

    def counts_by_id(self) -> np.ndarray:
        """match_count of every global id (int64)."""
        if self.alpha_counts is not None:
            return self.alpha_counts
        return self.by_frequency.set_index("token")["match_count"].reindex(self.alpha_tokens).to_numpy(np.int64)


def build_global_vocab(summaries: list[PartitionSummary]) -> GlobalVocab:
    """Merge the partitions' local vocabularies; ties in frequency keep first-occurrence order.

    One Arrow hash table over every partition's tokens (dictionary encoding) replaces a pandas group-by and
    a lookup per partition: 0.8 s instead of 2.3 s for 80 partitions of 20 k tokens (10x Gutenberg has 80).
    Arrow sorts UTF-8 bytes, whose order is the code points' order: Python's order of the same strings.
    """
    sizes = [len(s.uniques) for s in summaries]
    tokens = pa.chunked_array([pa.array(s.uniques, type=pa.large_string()) for s in summaries] or
                              [pa.array([], type=pa.large_string())]).combine_chunks()
    encoded = tokens.dictionary_encode()
    which = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    distinct = len(encoded.dictionary)
    counts = np.zeros(distinct, np.int64)
    np.add.at(counts, which, np.concatenate([s.unigram_counts for s in summaries] or [np.empty(0, np.int64)]))
    # first occurrence = (partition, local rank): partitions are in corpus order
    first = np.full(distinct, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, which, np.concatenate([(np.int64(s.index) << 32) + s.first_occurrence() for s in summaries]
                                               or [np.empty(0, np.int64)]))
    alpha_order = pc.sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(distinct, np.int64)
    rank[alpha_order] = np.arange(distinct)
    words = encoded.dictionary.to_numpy(zero_copy_only=False).astype(object)
    alpha_tokens = words[alpha_order]
    global_ids = rank[which].astype(np.int32)
    ends = np.cumsum(sizes)
    mappings = [global_ids[end - size : end] for size, end in zip(sizes, ends)]
    by_count = np.lexsort((first, -counts))
    by_frequency = pd.DataFrame({"token": words[by_count], "match_count": counts[by_count]})
    first_rank = np.empty(distinct, np.int64)
    first_rank[rank[np.argsort(first, kind="stable")]] = np.arange(distinct)
    return GlobalVocab(alpha_tokens, by_frequency, mappings, first_rank, counts[alpha_order])


def cross_partition_rows(
    summaries: list[PartitionSummary], vocab: GlobalVocab, orders: tuple[int, ...], boundary: Boundary,
    index: pd.Index | None = None,
) -> dict[int, Rows]:
    """N-grams that start in one partition and end in a later one (only `flat` and `document`); `index`:
    `vocab.alpha_tokens` as a `pd.Index`, when the caller has one (its hash table is built once).

    Walks the partitions in order carrying the last max_order-1 tokens of the stream, so a short or
    empty partition in between is handled; each crossing n-gram is produced exactly once.
    """
    keep = max(orders) - 1
    found: dict[int, list[tuple[tuple[str, ...], int]]] = {n: [] for n in orders}
    carry: list[tuple[str, int]] = []  # (token, file index): an n-gram belongs to its first token's file
    for s in summaries:
        chained = boundary == "flat" or (boundary == "document" and s.continues_file)
        if not chained:
            carry = []
        seq = carry + list(zip(s.head, s.head_files))
        for n in orders:
            for i in range(len(carry)):
                if len(carry) < i + n <= len(seq):
                    found[n].append((tuple(tok for tok, _ in seq[i : i + n]), seq[i][1]))
        if keep:
            carry = list(zip(s.tail, s.tail_files)) if s.n_tokens >= keep else seq[-keep:]
    index = pd.Index(vocab.alpha_tokens) if index is None else index
    out: dict[int, Rows] = {}
    for n, grams in found.items():
        cols = [index.get_indexer([g[i] for g, _ in grams]).astype(np.int32) for i in range(n)]
        out[n] = (cols, np.ones(len(grams), np.int64), np.asarray([f for _, f in grams], dtype=np.int32))
    return out


def bucket_cuts(vocab: GlobalVocab, buckets: int) -> np.ndarray:
    """Global-id cut points that split the token mass into `buckets` ranges of w1."""
    counts = vocab.counts_by_id()
    cumulative = np.cumsum(counts, dtype=np.float64)
    targets = cumulative[-1] * np.arange(1, buckets) / buckets if len(cumulative) else np.empty(0)
    return np.searchsorted(cumulative, targets, side="right").astype(np.int64)


def split_rows(rows: Rows, cuts: np.ndarray) -> dict[int, Rows]:
    """Split rows by the w1 range they fall in (slices when the rows are sorted by w1, as counted)."""
    cols, counts, files = rows
    w1 = cols[0]
    if len(cuts) and len(w1) and bool((w1[1:] >= w1[:-1]).all()):
        bounds = [0, *np.searchsorted(w1, cuts, side="left").tolist(), len(w1)]
        return {b: ([c[start:end] for c in cols], counts[start:end], files[start:end])
                for b, (start, end) in enumerate(itertools.pairwise(bounds))}
    which = np.searchsorted(cuts, cols[0], side="right") if len(cuts) else np.zeros(len(counts), np.int64)
    out = {}
    for b in range(len(cuts) + 1):
        mask = which == b
        out[b] = ([c[mask] for c in cols], counts[mask], files[mask])
    return out


def remap_partition(counts: PartitionCounts, mapping: np.ndarray, cuts: np.ndarray) -> dict[tuple[int, int], Rows]:
    """Translate a partition's rows to global ids and split them into buckets, keyed (order, bucket)."""
    out: dict[tuple[int, int], Rows] = {}
    for n, (cols, match_count, files) in counts.rows.items():
        global_rows = ([mapping[c] for c in cols], match_count, files)
        for b, part in split_rows(global_rows, cuts).items():
            out[(n, b)] = part
    return out


# Rows per Parquet file. A bucket is written as several files, so a refresh whose changes fall in a
# few w1 ranges rewrites only those files and shares the rest with the previous snapshot. 64 k rows, not
# 128 k: a refresh that appends a line rewrites ~20 files either way, each half the size (its merges
# 0.60 -> 0.48 s), while writing a trigram bucket as twice as many files costs the same (14.5 vs 14.9 ms
# for 131 k rows) and a full count at 1x takes as long (8.0-8.3 vs 8.3-8.4 s in-process)
FILE_ROWS = 1 << 16
TOP_K = 20  # the manifest keeps the 20 most frequent n-grams of an order: no file needs to report more


@dataclass
class BucketResult:
    """What a written file of a bucket reports back: sizes, count-of-counts and its most frequent rows."""

    order: int
    bucket: int
    path: str
    rows: int
    mass: int
    count_of_counts: dict[int, int]
    top: list[tuple[tuple[str, ...], int]]
    first: tuple[str, ...] | None = None  # the file's first n-gram (None: no rows); a refresh routes changes by it


def merge_bucket(
    order: int, bucket: int, parts: list[Rows], alpha_tokens: np.ndarray, folder: str, top_k: int = TOP_K
) -> list[BucketResult]:
    """Sum one bucket's rows over all partitions and write them, sorted, to Parquet files in `folder`."""
    cols = [np.concatenate([p[0][i] for p in parts]) for i in range(order)]
    counts = np.concatenate([p[1] for p in parts])
    files = np.concatenate([p[2] for p in parts])
    ucols, match_count, doc_count = group_rows(cols, counts, files, max(len(alpha_tokens), 1))
    return write_bucket(order, bucket, ucols, match_count, doc_count, alpha_tokens, folder, top_k)


def merge_bucket_from_entries(order: int, bucket: int, entries: list[tuple[str, list[int]]], mappings: list[np.ndarray],
                              cuts: np.ndarray, crossing: Rows, alpha_tokens: np.ndarray, folder: str,
                              top_k: int = TOP_K) -> list[BucketResult]:
    """`merge_bucket` of one w1 range, its rows read from each partition's entry `(path, global file ids)`."""
    lo = int(cuts[bucket - 1]) if bucket else 0
    hi = int(cuts[bucket]) if bucket < len(cuts) else None
    parts = [partition_cache.bucket_rows(path, order, files, mapping, lo, hi)
             for (path, files), mapping in zip(entries, mappings)]
    return merge_bucket(order, bucket, [*parts, crossing], alpha_tokens, folder, top_k)


def write_bucket(order: int, bucket: int, cols: list[np.ndarray], match_count: np.ndarray, doc_count: np.ndarray,
                 alpha_tokens: np.ndarray, folder: str, top_k: int = TOP_K) -> list[BucketResult]:
    """Write a bucket's sorted rows as `part-<bucket>-<i>.parquet` files of at most FILE_ROWS rows (one if empty)."""
    dictionary = pa.array(alpha_tokens, type=pa.string())
    return [
        write_file(order, bucket, [c[s : s + FILE_ROWS] for c in cols], match_count[s : s + FILE_ROWS],
                   doc_count[s : s + FILE_ROWS], dictionary, f"{folder}/part-{bucket:05d}-{i:05d}.parquet", top_k)
        for i, s in enumerate(range(0, max(len(match_count), 1), FILE_ROWS))
    ]


def write_file(order: int, bucket: int, cols: list[np.ndarray], match_count: np.ndarray, doc_count: np.ndarray,
               dictionary: pa.Array, path: str, top_k: int = TOP_K) -> BucketResult:
    """Write sorted rows (ids of `dictionary`, the alphabetical tokens) to one Parquet file and describe them."""
    table = pa.table(
        [*(dictionary.take(pa.array(c)) for c in cols), pa.array(match_count), pa.array(doc_count)],
        schema=ngram_schema(order),
    )
    sorting = [pq.SortingColumn(i) for i in range(order)]
    # min/max statistics only where they can skip a row group: w1, by which the rows are sorted. The other
    # columns span almost their whole range in every row group (a 131 k-row trigram file: 17.3 -> 14.4 ms)
    pq.write_table(table, path, compression="zstd", row_group_size=FILE_ROWS, sorting_columns=sorting,
                   write_statistics=["w1"])
    words = [table.column(i) for i in range(order)]
    top = [(tuple(w[i].as_py() for w in words), int(match_count[i])) for i in top_indices(match_count, top_k)]  # ties in alphabetical order
    first = tuple(w[0].as_py() for w in words) if len(match_count) else None
    return BucketResult(order, bucket, path, len(match_count), int(match_count.sum()),
                        count_of_counts(match_count), top, first)


def count_of_counts(match_count: np.ndarray) -> dict[int, int]:
    """How many rows have each count: {count: rows}.

    >>> count_of_counts(np.array([2, 1, 2]))
    {1: 1, 2: 2}
    """
    if len(match_count) and 0 <= match_count.min() and match_count.max() < 1 << 24:  # bincount: no sort
        freq = np.bincount(match_count)
        values = np.flatnonzero(freq)
        return dict(zip(values.tolist(), freq[values].tolist()))
    values, freq = np.unique(match_count, return_counts=True)
    return dict(zip(values.tolist(), freq.tolist()))
