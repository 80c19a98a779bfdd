"""Token ids with sentence markers and exact n-gram tables for the language models (vectorized numpy).

Every sentence becomes `<s> w1 ... wn </s>`. lmplz pads with order-1 `<s>` and collapses them again, which
gives the same n-grams: every k-gram that lies inside one padded sentence, `<s>` only in first position.
The table of order k holds those k-grams as sorted int64 keys `context * V + word`, where `context` is
the row of the first k-1 words in the table of order k-1 (order 1: the key is the word id). Keys built
this way sort lexicographically by word ids, and rows * V stays far below 2**63 whatever the order.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, repeat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from seqpipe.text.tokenize import TokenUnit, tokenize_line
from seqpipe.text.vocab import Vocab

UNK, BOS, EOS = "<unk>", "<s>", "</s>"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
SPECIALS = frozenset((UNK, BOS, EOS))
_SPECIALS = pa.array(sorted(SPECIALS), pa.string())
_ODD_SPACE = "[\\x1c-\\x1f]"  # whitespace to str.split() but not to Arrow's ASCII splitter
_CHUNK_LINES = 100_000
_BLOCK = 1 << 20


@dataclass(frozen=True)
class NgramTable:
    """The distinct k-grams of one order: sorted keys, raw counts, and where their suffix lives."""

    keys: np.ndarray  # int64, sorted: context row * V + word (order 1: word id)
    counts: np.ndarray  # int64 occurrences
    suffix: np.ndarray | None  # int64 row of words 2..k in the order k-1 table (None for order 1)

    def __len__(self) -> int:
        return int(self.keys.size)


@dataclass(frozen=True)
class NgramCounts:
    """Everything the estimators need: vocabulary, tables for orders 1..order, corpus figures."""

    vocab: Vocab  # <unk>, <s>, </s>, then words by frequency (ties by first occurrence)
    tables: list[NgramTable]  # tables[k - 1] is order k
    first_rank: np.ndarray  # id -> rank of first occurrence (lmplz's word ids)
    sentences: int
    tokens: int  # word tokens, markers excluded
    unit: TokenUnit = "word"
    boundary: str = "line"

    @property
    def order(self) -> int:
        """Highest order counted."""
        return len(self.tables)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC: tokenizing makes millions of short-lived lists and no cycles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _split_chunk(chunk: Sequence[str], unit: TokenUnit) -> tuple[pa.Array, np.ndarray]:
    """Tokens of some lines as one Arrow string array, and how many tokens each line has.

    Words of ASCII text without the separators \\x1c-\\x1f are split by Arrow: exactly `str.split()`,
    i.e. `tokenize_line(line, "word")`, once empty pieces are dropped. Other text goes through
    `tokenize_line` line by line.
    """
    if unit == "word" and chunk:
        arr = pa.array(chunk, pa.string())
        if pc.all(pc.string_is_ascii(arr)).as_py() and not pc.any(pc.match_substring_regex(arr, _ODD_SPACE)).as_py():
            pieces = pc.ascii_split_whitespace(arr)
            return pieces.flatten(), pc.list_value_length(pieces).to_numpy(zero_copy_only=False).astype(np.int64)
    with _gc_paused():
        toks = [tokenize_line(line, unit) for line in chunk]
        lens = np.fromiter(map(len, toks), np.int64, len(toks))
        return pa.array(list(chain.from_iterable(toks)), pa.string()), lens


def encode_lines(
    lines: Sequence[str], unit: TokenUnit, boundary: str, table: dict[str, int], grow: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids (int32) of all sentences and the length of each; unknown tokens get id 0 unless `grow`.

    `line`: one sentence per line (empty ones dropped); `flat`: the whole text is one sentence. The
    markers `<unk>`, `<s>`, `</s>` in the text are read as whitespace, as `lmplz` does. With `grow`,
    new tokens are added to `table` in order of first occurrence.

    >>> t = {UNK: 0, BOS: 1, EOS: 2}
    >>> ids, lens = encode_lines(["a b", "", "b c <s>"], "word", "line", t, grow=True)
    >>> ids.tolist(), lens.tolist(), list(t)
    ([3, 4, 4, 5], [2, 2], ['<unk>', '<s>', '</s>', 'a', 'b', 'c'])
    """
    if boundary not in ("line", "flat"):
        raise ValueError(f"boundary {boundary!r}: the n-gram LM supports 'line' or 'flat'")
    ids_parts: list[np.ndarray] = []
    len_parts: list[np.ndarray] = []
    for start in range(0, len(lines), _CHUNK_LINES):
        tokens, lens = _split_chunk(lines[start : start + _CHUNK_LINES], unit)
        keep = pc.and_(pc.greater(pc.binary_length(tokens), 0), pc.invert(pc.is_in(tokens, _SPECIALS)))
        if not pc.all(keep).as_py():
            line_of = np.repeat(np.arange(lens.size), lens)
            mask = keep.to_numpy(zero_copy_only=False)
            tokens, lens = tokens.filter(keep), np.bincount(line_of[mask], minlength=lens.size)
        encoded = tokens.dictionary_encode()  # dictionary in order of first occurrence
        local = encoded.dictionary.to_pylist()
        if grow:
            known = np.fromiter((table.setdefault(t, len(table)) for t in local), np.int32, len(local))
        else:
            known = np.fromiter(map(table.get, local, repeat(UNK_ID)), np.int32, len(local))
        ids_parts.append(known[encoded.indices.to_numpy(zero_copy_only=False)])
        len_parts.append(lens)
    ids = np.concatenate(ids_parts) if ids_parts else np.empty(0, np.int32)
    lens = np.concatenate(len_parts) if len_parts else np.empty(0, np.int64)
    if boundary == "flat":
        return ids, np.array([ids.size] if ids.size else [], np.int64)
    return ids, lens[lens > 0]


def pad_sentences(ids: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """One int32 stream with `<s>` before and `</s>` after every sentence.

    >>> pad_sentences(np.array([3, 4, 5]), np.array([2, 1])).tolist()
    [1, 3, 4, 2, 1, 5, 2]
    """
    ends = np.cumsum(lens + 2) - 1
    starts = ends - lens - 1
    seq = np.empty(ids.size + 2 * lens.size, np.int32)
    words = np.ones(seq.size, bool)
    words[starts] = False
    words[ends] = False
    seq[starts] = BOS_ID
    seq[ends] = EOS_ID
    seq[words] = ids
    return seq


def _sort_with_index(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sort non-negative int64 keys in place; return them and the permutation that sorted them.

    When the row index fits beside the key, (key << bits | index) is sorted: numpy's SIMD sort is
    several times faster than argsort.
    """
    bits = max(1, int(keys.size - 1).bit_length())
    if keys.size and int(keys.max()) < (1 << (62 - bits)):
        keys <<= bits
        for lo in range(0, keys.size, _BLOCK):  # add the index block-wise: no second full array
            keys[lo : lo + _BLOCK] |= np.arange(lo, min(lo + _BLOCK, keys.size), dtype=np.int64)
        keys.sort()
        perm = keys & ((1 << bits) - 1)
        keys >>= bits
        return keys, perm
    perm = np.argsort(keys)
    keys[:] = keys[perm]
    return keys, perm


def _group(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(start flags, unique keys, counts) of a sorted key array."""
    flags = np.ones(sorted_keys.size, bool)
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=flags[1:])
    starts = np.flatnonzero(flags)
    counts = np.diff(np.append(starts, sorted_keys.size)).astype(np.int64)
    return flags, sorted_keys[starts], counts


def locate(sorted_keys: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Row of each query in a sorted unique key array, -1 where absent.

    >>> locate(np.array([2, 5, 9]), np.array([9, 3, 2])).tolist()
    [2, -1, 0]
    """
    if queries.size == 0 or sorted_keys.size == 0:
        return np.full(queries.size, -1, np.int64)
    sq, perm = _sort_with_index(queries.astype(np.int64, copy=True))  # sorted queries make the binary searches cache-friendly
    pos = np.minimum(np.searchsorted(sorted_keys, sq), sorted_keys.size - 1)
    rows = np.where(sorted_keys[pos] == sq, pos, -1)
    out = np.empty(queries.size, np.int64)
    out[perm] = rows
    return out


def count_tables(seq: np.ndarray, vocab_size: int, order: int) -> list[NgramTable]:
    """Distinct k-grams (k = 1..order) of a padded stream with their counts and suffix rows."""
    n = seq.size
    tables = [NgramTable(np.arange(vocab_size, dtype=np.int64), np.bincount(seq, minlength=vocab_size), None)]
    row = seq.astype(np.int64)  # row of the (k-1)-gram ending at each position, -1 if it crosses <s>
    follows = seq[1:] != BOS_ID
    for k in range(2, order + 1):
        valid = follows & (row[:-1] >= 0)
        keys = row[:-1][valid].astype(np.int64) * vocab_size
        keys += seq[1:][valid]
        del row
        if k < order:
            keys, perm = _sort_with_index(keys)
            flags, uniq, counts = _group(keys)
            del keys
            dtype = np.int32 if uniq.size < 2**31 else np.int64
            inverse = np.empty(perm.size, dtype)
            inverse[perm] = np.cumsum(flags, dtype=dtype) - 1
            del perm, flags
            row = np.full(n, -1, dtype)
            row[1:][valid] = inverse
            del inverse
        else:
            keys.sort()
            _, uniq, counts = _group(keys)
            del keys
        del valid
        ctx, word = np.divmod(uniq, vocab_size)
        if k == 2:
            suffix = word
        else:
            lower = tables[k - 2]
            suffix = locate(lower.keys, lower.suffix[ctx] * vocab_size + word)  # type: ignore[index]
        tables.append(NgramTable(uniq, counts, suffix))
    return tables


def count_ngrams(lines: Sequence[str], order: int, unit: TokenUnit = "word", boundary: str = "line") -> NgramCounts:
    """Vocabulary and n-gram tables of orders 1..order from normalized training lines.

    >>> c = count_ngrams(["a b a", "b"], order=2)
    >>> c.vocab.idx_to_token, [len(t) for t in c.tables]
    (['<unk>', '<s>', '</s>', 'a', 'b'], [5, 6])
    """
    if order < 1:
        raise ValueError(f"order {order}: an n-gram model needs order 1 or more")
    table = {UNK: UNK_ID, BOS: BOS_ID, EOS: EOS_ID}
    ids, lens = encode_lines(lines, unit, boundary, table, grow=True)
    if ids.size == 0:
        raise ValueError("no training text: the training lines hold no tokens")
    first_order = list(table)
    freq = np.bincount(ids, minlength=len(first_order))
    perm = np.concatenate([[UNK_ID, BOS_ID, EOS_ID], 3 + np.argsort(-freq[3:], kind="stable")])
    remap = np.empty_like(perm)
    remap[perm] = np.arange(perm.size)
    counts = freq[perm]
    counts[BOS_ID] = counts[EOS_ID] = lens.size
    vocab = Vocab([first_order[i] for i in perm], counts.tolist())
    seq = pad_sentences(remap.astype(np.int32)[ids], lens)
    del ids
    tables = count_tables(seq, len(vocab), order)
    return NgramCounts(vocab, tables, perm, int(lens.size), int(lens.sum()), unit, boundary)


def encode_eval(lines: Sequence[str], vocab: Vocab, unit: TokenUnit = "word", boundary: str = "line") -> np.ndarray:
    """Padded id stream of held-out lines; tokens outside the vocabulary become `<unk>` (id 0)."""
    ids, lens = encode_lines(lines, unit, boundary, vocab.token_to_idx, grow=False)
    return pad_sentences(ids, lens)


def lookup_rows(tables: list[NgramTable], seq: np.ndarray) -> list[np.ndarray]:
    """rows[k-1][i]: row in the order-k table of the k-gram ending at position i (-1: absent or crosses <s>).

    >>> c = count_ngrams(["a b"], order=2)
    >>> [r.tolist() for r in lookup_rows(c.tables, pad_sentences(np.array([3, 4, 4]), np.array([3])))]
    [[1, 3, 4, 4, 2], [-1, 0, 1, -1, 2]]
    """
    vocab_size = len(tables[0])
    rows = [seq.astype(np.int64)]
    follows = seq[1:] != BOS_ID
    for table in tables[1:]:
        prev = rows[-1]
        row = np.full(seq.size, -1, np.int64)
        ok = follows & (prev[:-1] >= 0)
        row[1:][ok] = locate(table.keys, prev[:-1][ok] * vocab_size + seq[1:][ok].astype(np.int64))
        rows.append(row)
    return rows
