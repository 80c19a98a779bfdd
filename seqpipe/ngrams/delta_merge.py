"""Refresh one bucket without re-sorting it: the previous snapshot's sorted rows plus a signed delta.

The delta of a bucket is (new rows - old rows) of the partitions a refresh recounted, grouped per
n-gram: match counts subtract exactly; doc counts subtract exactly too, because the caller puts every
contribution of a touched file on both sides (see `refresh.plan_refresh`). Ids are ranks in one
alphabetical id space shared by both sides and by the previous file, so the previous rows, read back
with that id space, are already sorted and the delta is merged in by binary search: linear work.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from seqpipe.ngrams.keys import fits_int64, group_rows, pack
from seqpipe.ngrams.merge import BucketResult, Rows, write_bucket
from seqpipe.ngrams.schema import WORD_COLUMNS

Grouped = tuple[list[np.ndarray], np.ndarray, np.ndarray]  # sorted unique id columns, match_count, doc_count


class DeltaMismatch(RuntimeError):
    """The previous snapshot and the cached counts disagree: the refresh must recount in full."""


def _grouped(order: int, parts: list[Rows], radix: int) -> Grouped:
    cols = [np.concatenate([p[0][i] for p in parts]).astype(np.int32) for i in range(order)]
    counts = np.concatenate([p[1] for p in parts]).astype(np.int64)
    files = np.concatenate([p[2] for p in parts]).astype(np.int64)
    return group_rows(cols, counts, files, radix)


def _sum_sorted(cols: list[np.ndarray], values: list[np.ndarray], radix: int) -> Grouped:
    """Sort rows by their id columns and sum `values` (match, doc) over equal rows."""
    if len(values[0]) == 0:
        return cols, values[0], values[1]
    order = np.argsort(pack(cols, radix), kind="stable") if fits_int64(radix, len(cols)) \
        else np.lexsort(cols[::-1])
    cols = [c[order] for c in cols]
    same = np.ones(len(order) - 1, dtype=bool)
    for c in cols:
        same &= c[1:] == c[:-1]
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    return [c[starts] for c in cols], *(np.add.reduceat(v[order], starts) for v in values)


def signed_delta(order: int, old: list[Rows], new: list[Rows], radix: int) -> Grouped:
    """Per n-gram (new - old) match_count and doc_count, sorted; n-grams whose counts did not move are dropped."""
    o_cols, o_match, o_docs = _grouped(order, old, radix)
    n_cols, n_match, n_docs = _grouped(order, new, radix)
    cols = [np.concatenate([a, b]) for a, b in zip(o_cols, n_cols)]
    cols, match, docs = _sum_sorted(cols, [np.concatenate([-o_match, n_match]), np.concatenate([-o_docs, n_docs])],
                                    radix)
    moved = (match != 0) | (docs != 0)
    return [c[moved] for c in cols], match[moved], docs[moved]


def apply_delta(previous: Grouped, delta: Grouped, radix: int) -> Grouped:
    """Previous sorted rows plus a sorted delta: counts added, new n-grams inserted, zero rows dropped."""
    p_cols, p_match, p_docs = previous
    d_cols, d_match, d_docs = delta
    if not fits_int64(radix, len(p_cols)):  # long n-grams over a huge vocabulary: no packed key, sort instead
        merged = _sum_sorted([np.concatenate([a, b]) for a, b in zip(p_cols, d_cols)],
                             [np.concatenate([p_match, d_match]), np.concatenate([p_docs, d_docs])], radix)
    else:
        p_key, d_key = pack(p_cols, radix), pack(d_cols, radix)
        pos = np.searchsorted(p_key, d_key)
        hit = pos < len(p_key)
        hit[hit] = p_key[pos[hit]] == d_key[hit]
        match, docs = p_match.copy(), p_docs.copy()
        match[pos[hit]] += d_match[hit]
        docs[pos[hit]] += d_docs[hit]
        miss = ~hit
        where = pos[miss]  # np.insert keeps the order of equal positions: d_key is sorted, so the rows stay sorted
        merged = ([np.insert(p, where, d[miss]) for p, d in zip(p_cols, d_cols)],
                  np.insert(match, where, d_match[miss]), np.insert(docs, where, d_docs[miss]))
    cols, match, docs = merged
    if (match < 0).any() or (docs < 0).any() or ((match == 0) != (docs == 0)).any() or (docs > match).any():
        raise DeltaMismatch("the delta does not fit the previous snapshot's counts")
    keep = match > 0  # an n-gram whose count fell to zero vanishes
    return [c[keep] for c in cols], match[keep], docs[keep]


def read_bucket(path: str, order: int, alpha_tokens: pa.Array) -> Grouped:
    """A snapshot's bucket file as ids of `alpha_tokens` (sorted strings): the rows keep their sorted order."""
    table = pq.read_table(path, read_dictionary=list(WORD_COLUMNS[:order])).unify_dictionaries()
    cols = []
    for name in WORD_COLUMNS[:order]:
        chunks = table.column(name).chunks
        if not chunks:
            cols.append(np.empty(0, np.int32))
            continue
        ids = pc.index_in(chunks[0].dictionary, value_set=alpha_tokens)
        if ids.null_count:
            raise DeltaMismatch(f"{path}: holds a token that no partition, old or new, has")
        ids = ids.to_numpy(zero_copy_only=False).astype(np.int32)
        cols.append(np.concatenate([ids[c.indices.to_numpy(zero_copy_only=False)] for c in chunks]))
    counts = [table.column(c).to_numpy().astype(np.int64) for c in ("match_count", "doc_count")]
    return cols, counts[0], counts[1]


def refresh_bucket(order: int, bucket: int, old: list[Rows], new: list[Rows], previous: BucketResult,
                   alpha_tokens: np.ndarray, path: str, top_k: int = 100) -> BucketResult:
    """One bucket of a refreshed snapshot: the previous file linked when nothing moved, else merged and written."""
    radix = max(len(alpha_tokens), 1)
    delta = signed_delta(order, old, new, radix)
    if len(delta[1]) == 0:
        try:  # snapshots are never modified once published: sharing the file is safe
            os.link(previous.path, path)
        except OSError:
            shutil.copyfile(previous.path, path)
        return replace(previous, path=path)
    alpha = pa.array(alpha_tokens, type=pa.string())
    cols, match, docs = apply_delta(read_bucket(previous.path, order, alpha), delta, radix)
    return write_bucket(order, bucket, cols, match, docs, alpha_tokens, path, top_k)
