"""Count one partition: read, normalize, tokenize, and count n-grams in vectorized form.

A partition's tokens get local ids in alphabetical (code point) order, the global ids' order, so each
order's rows come out sorted the way the merge needs them and the merge combines sorted runs instead
of sorting everything again; `first_seen` keeps each token's rank of first occurrence for the book's
vocabulary order. N-grams are id tuples counted with numpy per document. Only the small parts of the
result (the local vocabulary, head/tail tokens, per-file statistics) travel to the client; the n-gram
arrays go to the partition's entry on disk, where the merge tasks read them (`partition_cache`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from seqpipe.config import TextConfig
from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.partition import Partition
from seqpipe.corpus.reader import DEFAULT_MAX_LINE_BYTES, FileInfo, read_text, read_utf8
from seqpipe.corpus.sources import InputFile
from seqpipe.ngrams.keys import count_rows
from seqpipe.text.normalize import d2l_block_ids, normalize_line
from seqpipe.text.tokenize import tokenize_line


@dataclass
class FileStats:
    """Per input file figures gathered while counting (summed over the file's pieces)."""

    lines: int = 0
    tokens: int = 0
    bad_bytes: int = 0
    long_lines: int = 0  # lines over max_line_bytes, skipped
    long_line_bytes: int = 0

    def add(self, other: FileStats) -> None:
        """Accumulate another piece's figures."""
        self.lines += other.lines
        self.tokens += other.tokens
        self.bad_bytes += other.bad_bytes
        self.long_lines += other.long_lines
        self.long_line_bytes += other.long_line_bytes


@dataclass
class PartitionSummary:
    """The small part of a partition's counts: shipped to the client to build the global vocabulary."""

    index: int
    uniques: np.ndarray  # local id -> token (object array), alphabetical
    unigram_counts: np.ndarray  # int64 per local id
    head: list[str]  # first max_order-1 tokens of the partition's stream
    tail: list[str]  # last max_order-1 tokens
    head_files: list[int]  # file index of each head token
    tail_files: list[int]
    n_tokens: int
    continues_file: bool  # the first piece continues a file begun in the previous partition
    file_stats: dict[int, FileStats] = field(default_factory=dict)
    # local id -> rank of its first occurrence in the partition; None: `uniques` is in first-occurrence
    # order (a summary built without it, or a cache entry of the layout before the ids were alphabetical)
    first_seen: np.ndarray | None = None

    def first_occurrence(self) -> np.ndarray:
        """Rank of each local id's first occurrence in the partition (int64)."""
        if self.first_seen is None:
            return np.arange(len(self.uniques), dtype=np.int64)
        return self.first_seen.astype(np.int64)


@dataclass
class LineTokens:
    """A partition's tokens line by line, for the split-aware LM outputs (`stats --split`)."""

    ids: np.ndarray  # int32 local ids of every token, in order
    lengths: np.ndarray  # int64 tokens of every line read (empty lines included: the split cuts by lines)


@dataclass
class PartitionCounts:
    """A partition's full result: the summary plus n-gram rows per order in local ids."""

    summary: PartitionSummary
    # order -> (columns of local ids, match_count, file of the first token); unique per (ngram, file)
    rows: dict[int, tuple[list[np.ndarray], np.ndarray, np.ndarray]]
    lines: LineTokens | None = None


@dataclass
class Tokenized:
    """A partition's tokens as local ids, with per token its segment id and file index."""

    ids: np.ndarray  # int32, alphabetical order of the tokens
    uniques: np.ndarray  # object array: local id -> token, sorted
    first_seen: np.ndarray  # int32: local id -> rank of first occurrence
    segments: np.ndarray
    file_of_token: np.ndarray
    stats: dict[int, FileStats]


def alphabetical_ids(ids: np.ndarray, uniques: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Renumber first-occurrence ids alphabetically: (ids, sorted uniques, first-occurrence rank per new id).

    >>> ids, words, first = alphabetical_ids(np.array([0, 1, 0, 2], np.int32), np.array(["b", "c", "a"], object))
    >>> ids.tolist(), words.tolist(), first.tolist()
    ([1, 2, 1, 0], ['a', 'b', 'c'], [2, 0, 1])
    """
    order = np.argsort(uniques, kind="stable").astype(np.int32)
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    return rank[ids], uniques[order], order


def _fast_d2l(text: TextConfig) -> bool:
    """The book's word tokens across lines: one vectorized pass over the block's bytes."""
    return text.boundary != "line" and text.tokens == "word" and text.normalize == "d2l"


def tokenize_partition(
    partition: Partition, files: list[InputFile], infos: list[FileInfo], text: TextConfig,
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES, line_lengths: list[int] | None = None,
) -> Tokenized:
    """Tokens of a partition as ids, with their segments and files (over-long lines skipped).

    When `line_lengths` is a list, the number of tokens of every line read is appended to it.
    """
    tokens: list[str] = []
    seg_lengths: list[int] = []
    seg_files: list[int] = []
    stats: dict[int, FileStats] = {}
    per_line = line_lengths is not None
    fast = _fast_d2l(text)
    blocks: list[bytes] = []  # fast path: each piece's lines as LF-ended UTF-8 bytes
    block_lines: list[int] = []
    for piece in partition.pieces:
        f, info = files[piece.file_index], infos[piece.file_index]
        try:
            got = (read_utf8 if fast else read_text)(f, info, piece.start, piece.end, max_line_bytes)
        except (OSError, EOFError) as exc:  # a truncated .gz, a file that vanished: name it, not its partition
            raise CorpusError(f"{f.uri}: cannot be read ({type(exc).__name__}: {exc})") from None
        n_lines = got.lines if fast else len(got.lines)
        fstats = stats.setdefault(piece.file_index, FileStats())
        fstats.lines += n_lines
        fstats.bad_bytes += got.bad_bytes
        fstats.long_lines += got.long_lines
        fstats.long_line_bytes += got.long_line_bytes
        seg_files.append(piece.file_index)  # one segment per piece unless boundary == "line" (reset below)
        if fast:
            blocks.append(got.data)
            block_lines.append(n_lines)
            continue
        lines = got.lines
        before = len(tokens)
        if text.boundary != "line" and text.tokens == "word" and not per_line:
            # whitespace separates words whatever the line breaks: normalize the block in one call
            tokens.extend(tokenize_line(normalize_line("\n".join(lines), text.normalize), "word"))
        else:
            if text.boundary == "line":
                seg_files.pop()
            for line in lines:
                line_tokens = tokenize_line(normalize_line(line, text.normalize), text.tokens)
                tokens.extend(line_tokens)
                if per_line:
                    line_lengths.append(len(line_tokens))  # type: ignore[union-attr]
                if text.boundary == "line":
                    seg_lengths.append(len(line_tokens))
                    seg_files.append(piece.file_index)
        fstats.tokens += len(tokens) - before
        if text.boundary != "line":
            seg_lengths.append(len(tokens) - before)
    if fast:
        ids, uniques, per_line_counts = d2l_block_ids(b"".join(blocks), sum(block_lines))
        del blocks
        line_ends = np.cumsum([0, *block_lines])
        per_piece = np.diff(np.concatenate([[0], np.cumsum(per_line_counts)])[line_ends])
        for index, n in zip(seg_files, per_piece.tolist()):
            stats[index].tokens += n
            seg_lengths.append(n)
        if per_line:
            line_lengths.extend(per_line_counts.tolist())  # type: ignore[union-attr]
    else:
        codes, uniques = pd.factorize(pd.Series(tokens, dtype=object), sort=False)
        ids, uniques = codes.astype(np.int32), np.asarray(uniques, dtype=object)
    ids, uniques, first_seen = alphabetical_ids(ids, uniques)
    lengths = np.asarray(seg_lengths, dtype=np.int64)
    if text.boundary == "flat":
        segments = np.zeros(len(ids), dtype=np.int32)
    else:
        segments = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)
    file_of_token = np.repeat(np.asarray(seg_files, dtype=np.int32), lengths)
    return Tokenized(ids, uniques, first_seen, segments, file_of_token, stats)


def count_partition(
    partition: Partition,
    files: list[InputFile],
    infos: list[FileInfo],
    text: TextConfig,
    orders: tuple[int, ...],
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
    with_lines: bool = False,
) -> PartitionCounts:
    """Count every order's n-grams inside one partition (nothing that crosses its edges).

    `with_lines` also keeps the token ids line by line (`PartitionCounts.lines`) for the LM split.
    """
    line_lengths: list[int] | None = [] if with_lines else None
    tok = tokenize_partition(partition, files, infos, text, max_line_bytes, line_lengths)
    ids, uniques, segments, file_of_token = tok.ids, tok.uniques, tok.segments, tok.file_of_token
    radix = max(len(uniques), 1)
    # the file rides along as the last key column so rows stay unique per (ngram, file) for doc_count
    # and sorted by (ngram, file), the order in which the merge combines them
    local_files = np.unique(np.fromiter((p.file_index for p in partition.pieces), dtype=np.int32))
    file_codes = np.searchsorted(local_files, file_of_token).astype(np.int32) if len(local_files) > 1 else None
    rows = {}
    for n in orders:
        m = len(ids) - n + 1
        if m <= 0:
            rows[n] = ([np.empty(0, np.int32) for _ in range(n)], np.empty(0, np.int64), np.empty(0, np.int32))
            continue
        columns = [ids[i : i + m] for i in range(n)]
        row_files = file_codes[:m] if file_codes is not None else None
        if text.boundary != "flat":
            valid = segments[:m] == segments[n - 1 : n - 1 + m]
            columns = [c[valid] for c in columns]
            row_files = row_files[valid] if row_files is not None else None
        if row_files is None:
            cols, counts = count_rows(columns, [radix] * n)
            rows[n] = (cols, counts, np.full(len(counts), local_files[0], dtype=np.int32))
        else:
            cols, counts = count_rows([*columns, row_files], [radix] * n + [len(local_files)])
            rows[n] = (cols[:-1], counts, local_files[cols[-1]].astype(np.int32))
    keep = max(orders) - 1
    summary = PartitionSummary(
        index=partition.index,
        uniques=uniques,
        unigram_counts=np.bincount(ids, minlength=len(uniques)).astype(np.int64),
        head=uniques[ids[:keep]].tolist(),
        tail=uniques[ids[max(len(ids) - keep, 0):]].tolist() if keep else [],
        head_files=file_of_token[:keep].tolist(),
        tail_files=file_of_token[max(len(ids) - keep, 0):].tolist() if keep else [],
        n_tokens=len(ids),
        continues_file=partition.pieces[0].continues_file,
        file_stats=tok.stats,
        first_seen=tok.first_seen,
    )
    lines = LineTokens(ids, np.asarray(line_lengths, np.int64)) if line_lengths is not None else None
    return PartitionCounts(summary, rows, lines)
