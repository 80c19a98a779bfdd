"""Refresh one bucket without re-sorting it: the previous snapshot's sorted rows plus a signed delta.

The delta of a bucket is (new rows - old rows) of the partitions a refresh recounted, grouped per
n-gram: match counts subtract exactly; doc counts subtract exactly too, because the caller puts every
contribution of a touched file on both sides (see `refresh.plan_refresh`). Ids are ranks in one
alphabetical id space shared by both sides and by the previous file, so the previous rows, read back
with that id space, are already sorted and the delta is merged in by binary search: linear work.
"""

from __future__ import annotations

import bisect
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seqpipe.ngrams.keys import bit_widths, fits_int64, group_rows, pack, shift_pack
from seqpipe.ngrams.merge import TOP_K, BucketResult, Rows, write_file
from seqpipe.ngrams.schema import WORD_COLUMNS

Grouped = tuple[list[np.ndarray], np.ndarray, np.ndarray]  # sorted unique id columns, match_count, doc_count


class DeltaMismatch(RuntimeError):
    """The previous snapshot and the cached counts disagree: the refresh must recount in full."""


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
    """Per n-gram (new - old) match_count and doc_count, sorted; n-grams whose counts did not move are dropped.

    One sort of both sides: the old side's documents are renumbered after the new side's and weigh -1.
    Rows the two sides share unchanged are dropped first (`cancel_shared_rows`), so what is sorted is
    what changed.
    """
    old, new = cancel_shared_rows(order, old, new, radix)
    sides = [*old, *new]
    offset = 1 + max((int(p[2].max()) for p in new if len(p[2])), default=0)
    cols = [np.concatenate([p[0][i] for p in sides]).astype(np.int32) for i in range(order)]
    counts = np.concatenate([*(-p[1] for p in old), *(p[1] for p in new)]).astype(np.int64)
    files = np.concatenate([*(p[2].astype(np.int64) + offset for p in old), *(p[2] for p in new)]).astype(np.int64)
    weights = np.ones(offset + 1 + max((int(p[2].max()) for p in old if len(p[2])), default=0), np.int64)
    weights[offset:] = -1
    cols, match, docs = group_rows(cols, counts, files, radix, weights)
    moved = (match != 0) | (docs != 0)
    return [c[moved] for c in cols], match[moved], docs[moved]


SMALL_PART = 1 << 14  # parts up to this many rows (n-grams across partition edges) block rows key by key


def cancel_shared_rows(order: int, old: list[Rows], new: list[Rows], radix: int) -> tuple[list[Rows], list[Rows]]:
    """Both sides without the rows that equal one another: same n-gram, file and count, each alone on its side.

    Such a pair adds nothing to the delta (its count cancels, and each side loses one document of that
    n-gram), whichever documents its files are. A recounted partition is mostly its previous self (a
    line appended to a 370 k-row trigram bucket: 4 rows differ), and its rows are sorted and unique per
    (n-gram, file), so one binary search over packed keys finds the pairs instead of sorting both sides
    together (47 -> 13-18 ms a trigram bucket).

    Each large old part is paired with a new part holding the same files (a partition recounted in place);
    a row is alone on its side when no other part holds its file (large parts) or its key (small parts).
    Parts that are not sorted and unique, or find no twin, are left as they are.
    """
    n_files = 1 + max((int(p[2].max()) for p in (*old, *new) if len(p[2])), default=0)
    bits = bit_widths([radix] * order + [n_files])
    if bits is None or not old or not new:
        return old, new
    sides = [list(old), list(new)]
    large = [[k for k, p in enumerate(side) if len(p[1]) > SMALL_PART] for side in sides]
    holds = {(s, k): np.bincount(sides[s][k][2], minlength=n_files) > 0 for s in (0, 1) for k in large[s]}
    small_keys = [shift_pack([*p[0], p[2]], bits) for side in sides for p in side if 0 < len(p[1]) <= SMALL_PART]
    blocked_keys = np.concatenate(small_keys) if small_keys else None
    free_new = list(large[1])
    for k in large[0]:
        twin = next((m for m in free_new if np.array_equal(holds[0, k], holds[1, m])), None)
        if twin is None:
            continue
        free_new.remove(twin)
        others = [held for key, held in holds.items() if key not in ((0, k), (1, twin))]
        shared_files = ~np.logical_or.reduce(others) if others else np.ones(n_files, dtype=bool)
        sides[0][k], sides[1][twin] = _cancel_pair(sides[0][k], sides[1][twin], bits, shared_files, blocked_keys)
    return sides[0], sides[1]


def _cancel_pair(old: Rows, new: Rows, bits: list[int], alone_files: np.ndarray,
                 blocked_keys: np.ndarray | None) -> tuple[Rows, Rows]:
    """Two twin parts without their equal rows: those of files no other part holds, keys no small part has."""
    old_key, new_key = (shift_pack([*p[0], p[2]], bits) for p in (old, new))
    if any(len(k) > 1 and not bool((k[1:] > k[:-1]).all()) for k in (old_key, new_key)):  # not sorted, unique
        return old, new
    at = np.minimum(np.searchsorted(new_key, old_key), len(new_key) - 1)
    shared = (new_key[at] == old_key) & (new[1][at] == old[1]) & alone_files[old[2]]
    if blocked_keys is not None:
        shared &= ~np.isin(old_key, blocked_keys)
    if not shared.any():
        return old, new
    keep_new = np.ones(len(new_key), dtype=bool)
    keep_new[at[shared]] = False
    return _rows_where(old, ~shared), _rows_where(new, keep_new)


def _rows_where(rows: Rows, mask: np.ndarray) -> Rows:
    return [c[mask] for c in rows[0]], rows[1][mask], rows[2][mask]


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


def read_bucket(path: str, order: int, lookup: pd.Index) -> Grouped:
    """A snapshot's file as ids of `lookup` (the sorted tokens): the rows keep their sorted order."""
    return read_buckets([path], order, lookup)[0]


def read_buckets(paths: list[str], order: int, lookup: pd.Index) -> list[Grouped]:
    """`read_bucket` of several files, looking each distinct token up once.

    The files' column dictionaries repeat the same words (a refresh of one partition read 57 dictionaries
    of 25 k words each, 1.4 M lookups, for 72 k distinct words): Arrow's hash table dedupes them first.
    """
    tables = []
    for path in paths:
        try:
            tables.append(pq.read_table(path, read_dictionary=list(WORD_COLUMNS[:order])).unify_dictionaries())
        except (OSError, pa.ArrowException) as exc:  # damaged since it was published: the refresh merges in full
            raise DeltaMismatch(f"{path}: cannot be read ({exc})") from None
    columns = [[t.column(name) for name in WORD_COLUMNS[:order]] for t in tables]
    dictionaries = [c.chunks[0].dictionary for cols in columns for c in cols if c.num_chunks]
    ids = np.empty(0, np.int32)
    if dictionaries:
        encoded = pa.chunked_array(dictionaries, type=pa.string()).combine_chunks().dictionary_encode()
        distinct = lookup.get_indexer(encoded.dictionary.to_numpy(zero_copy_only=False)).astype(np.int32)
        if (distinct < 0).any():
            missing = encoded.dictionary[int(np.flatnonzero(distinct < 0)[0])].as_py()
            raise DeltaMismatch(f"a previous file holds a token that no partition, old or new, has: {missing!r}")
        ids = distinct[encoded.indices.to_numpy(zero_copy_only=False)]
    out, at = [], 0
    for table, cols_of_file in zip(tables, columns):
        cols = []
        for column in cols_of_file:
            if not column.num_chunks:
                cols.append(np.empty(0, np.int32))
                continue
            size = len(column.chunks[0].dictionary)
            of_dictionary, at = ids[at : at + size], at + size
            cols.append(np.concatenate([of_dictionary[c.indices.to_numpy(zero_copy_only=False)] for c in column.chunks]))
        counts = [table.column(c).to_numpy().astype(np.int64) for c in ("match_count", "doc_count")]
        out.append((cols, counts[0], counts[1]))
    return out


def route(cols: list[np.ndarray], files: list[BucketResult], alpha_tokens: np.ndarray, radix: int) -> np.ndarray:
    """The previous file each (sorted) delta row falls in: the last file whose first n-gram is not after it."""
    starts = [(i, f.first) for i, f in enumerate(files) if f.first is not None]  # an emptied file takes no rows
    if len(cols[0]) == 0 or not starts:
        return np.zeros(len(cols[0]), np.int64)
    firsts = [np.searchsorted(alpha_tokens, np.array([f[k] for _, f in starts], dtype=object))
              for k in range(len(cols))]
    if any((ids >= len(alpha_tokens)).any() or list(alpha_tokens[ids]) != [f[k] for _, f in starts]
           for k, ids in enumerate(firsts)):
        raise DeltaMismatch("a previous file starts with a token that no partition, old or new, has")
    if fits_int64(radix, len(cols)):
        at = np.searchsorted(pack(firsts, radix), pack(cols, radix), side="right") - 1
    else:  # keys too long to pack: compare id tuples
        bounds = list(zip(*(f.tolist() for f in firsts)))
        at = np.array([bisect.bisect_right(bounds, row) - 1 for row in zip(*(c.tolist() for c in cols))], np.int64)
    return np.array([i for i, _ in starts], np.int64)[np.maximum(at, 0)]


def refresh_bucket(order: int, bucket: int, old: list[Rows], new: list[Rows], previous: list[BucketResult],
                   lookup: pd.Index, folder: str, top_k: int = TOP_K) -> list[BucketResult]:
    """One bucket of a refreshed snapshot: each previous file linked when no change falls in it, else merged.

    `lookup` holds the sorted tokens of the id space; one object shared by the tasks of a worker, so its
    hash table is built once there.
    """
    alpha_tokens = lookup.to_numpy()
    radix = max(len(alpha_tokens), 1)
    d_cols, d_match, d_docs = signed_delta(order, old, new, radix)
    owner = route(d_cols, previous, alpha_tokens, radix)
    dictionary = pa.array(alpha_tokens, type=pa.string()) if len(d_match) else None
    touched = [i for i in range(len(previous)) if (owner == i).any()]
    rows = dict(zip(touched, read_buckets([previous[i].path for i in touched], order, lookup)))
    out = []
    for i, file in enumerate(previous):
        path = f"{folder}/{Path(file.path).name}"
        if i not in rows:
            try:  # snapshots are never modified once published: sharing the file is safe
                os.link(file.path, path)
            except OSError:
                shutil.copyfile(file.path, path)
            out.append(replace(file, path=path))
            continue
        mine = owner == i
        delta = ([c[mine] for c in d_cols], d_match[mine], d_docs[mine])
        cols, match, docs = apply_delta(rows.pop(i), delta, radix)
        out.append(write_file(order, bucket, cols, match, docs, dictionary, path, top_k))
    return out
