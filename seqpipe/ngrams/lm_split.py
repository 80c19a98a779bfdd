"""The split-aware part of a snapshot (`stats --split`): LM counts of the training lines, token ids per split.

Once the partitions are counted (keeping their ids line by line) and the global vocabulary is known:

    pieces, rows <- lm_partition(p)          one task per partition: cut its lines at the global cut
                                             points, write its ids per split, count the k-grams
                                             (k = 1..K) of its padded training sentences by w1 range
    files        <- merge_lm_bucket(k, b)    one task per (order, w1 range): sum, sort, write Parquet
    tokens/      <- assemble_tokens()        the client concatenates the pieces of each split, streaming

Ids are those of `seqpipe.corpus.token_ids`: `<unk>` 0, `<s>` 1, `</s>` 2, global (alphabetical) id + 3
for words. `lm/n=k` then holds exactly the k-grams lmplz counts: every k-gram inside one padded
sentence `<s> w1 .. wn </s>`, `<s>` only in first position (`lm_boundary="flat"`: the whole training
range is one sentence, and k-grams crossing partitions are added on the client from heads and tails).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.token_ids import (
    BOS,
    BOS_ID,
    EOS,
    EOS_ID,
    FIRST_WORD_ID,
    SPLITS,
    UNK,
    id_dtype,
    open_ids_writer,
    write_offsets,
    write_token_vocab,
)
from seqpipe.ngrams.count import PartitionCounts
from seqpipe.ngrams.keys import count_rows, group_rows
from seqpipe.ngrams.merge import GlobalVocab, bucket_cuts
from seqpipe.parallel import as_completed
from seqpipe.text.split import parse_fractions

IdRows = tuple[list[np.ndarray], np.ndarray]  # id columns, match_count


@dataclass(frozen=True)
class SplitPlan:
    """Where the contiguous train / valid / test line ranges start and end, and what the LM counts."""

    fractions: tuple[float, ...]
    lm_boundary: str  # "line": <s> ... </s> per line; "flat": the training range is one sentence
    total_lines: int
    cut_train: int
    cut_valid: int
    max_order: int
    vocab_size: int  # ids 0..vocab_size-1, specials included

    @property
    def dtype(self) -> np.dtype:
        """The id dtype of `tokens/<split>/ids.npy`."""
        return id_dtype(self.vocab_size)


def plan_split(fractions: tuple[float, ...] | str, lm_boundary: str, total_lines: int, max_order: int,
               vocab_size: int) -> SplitPlan:
    """Cut points `int(fraction * lines)` over all lines, empty ones included (as `split_lines`).

    >>> p = plan_split("0.8", "line", 10, 3, 50)
    >>> p.cut_train, p.cut_valid
    (8, 8)
    """
    fr = parse_fractions(fractions)
    if lm_boundary not in ("line", "flat"):
        raise ValueError(f"lm boundary {lm_boundary!r}: 'line' (<s> ... </s> per line) or 'flat'")
    cut_train = int(fr[0] * total_lines)
    cut_valid = int((fr[0] + (fr[1] if len(fr) > 1 else 0.0)) * total_lines)
    return SplitPlan(fr, lm_boundary, total_lines, cut_train, cut_valid, max_order, vocab_size)


@dataclass
class LMPiece:
    """What one partition contributes: sizes and id files per split, and (flat) its training edges."""

    index: int
    sizes: dict[str, tuple[int, int]] = field(default_factory=dict)  # split -> (lines, tokens)
    files: dict[str, str] = field(default_factory=dict)  # split -> path of the ids piece
    head: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # first K-1 training ids
    tail: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))  # last K-1 training ids
    train_tokens: int = 0


def padded_kgram_rows(seq: np.ndarray, k: int, sentences: bool) -> list[np.ndarray]:
    """Columns of the k-grams of a stream; with `sentences`, only those inside one `<s>`-started sentence.

    >>> [c.tolist() for c in padded_kgram_rows(np.array([1, 5, 2, 1, 6, 2]), 2, True)]
    [[1, 5, 1, 6], [5, 2, 6, 2]]
    """
    m = seq.size - k + 1
    if m <= 0:
        return [np.empty(0, seq.dtype) for _ in range(k)]
    cols = [seq[i : i + m] for i in range(k)]
    if sentences and k > 1:
        sid = np.cumsum(seq == BOS_ID)
        valid = sid[:m] == sid[k - 1 : k - 1 + m]
        cols = [c[valid] for c in cols]
    return cols


def split_by_bucket(rows: IdRows, cuts: np.ndarray) -> dict[int, IdRows]:
    """Rows by the w1 range they fall in."""
    cols, counts = rows
    which = np.searchsorted(cuts, cols[0], side="right") if len(cuts) else np.zeros(len(counts), np.int64)
    return {b: ([c[which == b] for c in cols], counts[which == b]) for b in range(len(cuts) + 1)}


def lm_partition(counts: PartitionCounts, mapping: np.ndarray, drop: np.ndarray, line_start: int,
                 plan: SplitPlan, cuts: np.ndarray, parts_dir: str) -> tuple[LMPiece, dict[tuple[int, int], IdRows]]:
    """Cut one partition's lines into the splits, write its ids, count its training k-grams by bucket."""
    assert counts.lines is not None, "count the partitions with with_lines=True"
    index = counts.summary.index
    alpha = mapping[counts.lines.ids]
    keep = ~drop[alpha]  # `<s>`, `</s>`, `<unk>` written in the text read as whitespace, as in lmplz
    ids = (alpha[keep] + FIRST_WORD_ID).astype(np.int64)
    line_of = np.repeat(np.arange(counts.lines.lengths.size), counts.lines.lengths)[keep]
    lengths = np.bincount(line_of, minlength=counts.lines.lengths.size)
    split_of_line = np.searchsorted([plan.cut_train, plan.cut_valid],
                                    line_start + np.arange(lengths.size), side="right")
    piece = LMPiece(index)
    train_ids, train_lengths = np.empty(0, np.int64), np.empty(0, np.int64)
    for s, name in enumerate(SPLITS):
        chosen = (split_of_line == s) & (lengths > 0)  # empty lines are dropped after the cut
        if not chosen.any():
            continue
        part_ids, part_lengths = ids[chosen[line_of]], lengths[chosen]
        path = Path(parts_dir) / f"{name}-{index:06d}.npy"
        np.save(path, part_ids.astype(plan.dtype))
        np.save(path.with_suffix(".len.npy"), part_lengths)
        piece.files[name] = str(path)
        piece.sizes[name] = (int(part_lengths.size), int(part_ids.size))
        if name == "train":
            train_ids, train_lengths = part_ids, part_lengths
    flat = plan.lm_boundary == "flat"
    if flat:
        keep_edge = plan.max_order - 1
        piece.head, piece.tail = train_ids[:keep_edge], train_ids[train_ids.size - keep_edge :] if keep_edge else train_ids[:0]
        piece.train_tokens = int(train_ids.size)
        seq = train_ids
    else:
        seq = _pad_sentences(train_ids, train_lengths)
    rows: dict[tuple[int, int], IdRows] = {}
    for k in range(1, plan.max_order + 1):
        found = count_rows(padded_kgram_rows(seq, k, not flat), plan.vocab_size)  # empty columns when none
        for b, part in split_by_bucket(found, cuts).items():
            rows[(k, b)] = part
    return piece, rows


def _pad_sentences(ids: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """`<s> w.. </s>` around every line of a flat id array."""
    ends = np.cumsum(lengths + 2) - 1
    starts = ends - lengths - 1
    seq = np.empty(ids.size + 2 * lengths.size, np.int64)
    words = np.ones(seq.size, bool)
    words[starts] = words[ends] = False
    seq[starts], seq[ends], seq[words] = BOS_ID, EOS_ID, ids
    return seq


def flat_crossing_rows(pieces: list[LMPiece], max_order: int) -> dict[int, IdRows]:
    """K-grams of `<s> training stream </s>` not inside one partition (lm_boundary "flat").

    The markers act as partitions of their own; the walk carries the last K-1 ids, so every k-gram is
    produced once, at the partition holding its last id.

    >>> a = LMPiece(0, head=np.array([5]), tail=np.array([5]), train_tokens=1)
    >>> rows = flat_crossing_rows([a], 2)
    >>> sorted(zip(*[c.tolist() for c in rows[2][0]])), sorted(rows[1][0][0].tolist())
    ([(1, 5), (5, 2)], [1, 2])
    """
    keep = max_order - 1
    bos = LMPiece(-1, head=np.array([BOS_ID]), tail=np.array([BOS_ID]), train_tokens=1)
    eos = LMPiece(-2, head=np.array([EOS_ID]), tail=np.array([EOS_ID]), train_tokens=1)
    found: dict[int, list[tuple[int, ...]]] = {k: [] for k in range(1, max_order + 1)}
    found[1] = [(BOS_ID,), (EOS_ID,)]
    carry: list[int] = []
    for p in [bos, *(q for q in pieces if q.train_tokens), eos]:
        seq = carry + p.head.tolist()
        for k in range(2, max_order + 1):
            for i in range(len(carry)):
                if len(carry) < i + k <= len(seq):
                    found[k].append(tuple(seq[i : i + k]))
        if keep:
            carry = p.tail.tolist() if p.train_tokens >= keep else seq[-keep:]
    out: dict[int, IdRows] = {}
    for k, grams in found.items():
        arr = np.array(grams, np.int64).reshape(len(grams), k)
        out[k] = ([arr[:, i] for i in range(k)], np.ones(len(grams), np.int64))
    return out


def lm_schema(order: int) -> pa.Schema:
    """w1..wK as uint32 token ids, match_count."""
    return pa.schema([*(pa.field(f"w{i + 1}", pa.uint32(), nullable=False) for i in range(order)),
                      pa.field("match_count", pa.int64(), nullable=False)],
                     metadata={"seqpipe.table": "lm-counts", "seqpipe.order": str(order)})


@dataclass
class LMBucket:
    """One written `lm/n=k/part-*.parquet` file."""

    order: int
    bucket: int
    path: str
    rows: int
    mass: int


def merge_lm_bucket(order: int, bucket: int, parts: list[IdRows], vocab_size: int, path: str) -> LMBucket:
    """Sum one bucket's rows over the partitions and write them, sorted by (w1..wK), to one Parquet file."""
    cols = [np.concatenate([p[0][i] for p in parts]).astype(np.int64) for i in range(order)]
    counts = np.concatenate([p[1] for p in parts]).astype(np.int64)
    if counts.size:
        ucols, match_count, _ = group_rows(cols, counts, np.zeros(counts.size, np.int32), vocab_size)
    else:
        ucols, match_count = cols, counts
    table = pa.table([*(pa.array(c.astype(np.uint32)) for c in ucols), pa.array(match_count.astype(np.int64))],
                     schema=lm_schema(order))
    pq.write_table(table, path, compression="zstd", row_group_size=1 << 20,
                   sorting_columns=[pq.SortingColumn(i) for i in range(order)])
    return LMBucket(order, bucket, path, int(match_count.size), int(match_count.sum()))


def assemble_tokens(snapshot: Path, parts_dir: Path, pieces: list[LMPiece], plan: SplitPlan) -> dict[str, dict[str, int]]:
    """Concatenate the partitions' id pieces into `tokens/<split>/{ids,offsets}.npy`; return sizes."""
    sizes = {}
    ordered = sorted(pieces, key=lambda p: p.index)
    for name in SPLITS:
        mine = [p for p in ordered if name in p.files]
        n_tokens = sum(p.sizes[name][1] for p in mine)
        out = open_ids_writer(snapshot, name, n_tokens, plan.dtype)
        lengths = [np.empty(0, np.int64)]
        at = 0
        for p in mine:
            piece = np.load(p.files[name], mmap_mode="r")
            out[at : at + piece.size] = piece
            at += piece.size
            lengths.append(np.load(Path(p.files[name]).with_suffix(".len.npy")))
        out.flush()
        del out
        lens = np.concatenate(lengths)
        write_offsets(snapshot, name, np.concatenate([[0], np.cumsum(lens)]).astype(np.int64))
        sizes[name] = {"lines": int(lens.size), "tokens": int(n_tokens)}
    shutil.rmtree(parts_dir, ignore_errors=True)
    return sizes


def special_tokens_mask(vocab: GlobalVocab) -> np.ndarray:
    """Global ids whose token spells a marker: read as whitespace by the LM (lmplz does the same)."""
    return np.isin(vocab.alpha_tokens, np.array([UNK, BOS, EOS], dtype=object))


def write_vocab(snapshot: Path, vocab: GlobalVocab, plan: SplitPlan) -> Path:
    """`tokens/vocab.parquet`: specials, then the global vocabulary with corpus and training counts."""
    counts = vocab.counts_by_id()
    train = np.zeros(plan.vocab_size, np.int64)
    unigrams = ds.dataset(str(snapshot / "lm" / "n=1"), format="parquet").to_table()
    train[unigrams["w1"].to_numpy().astype(np.int64)] = unigrams["match_count"].to_numpy()
    first = vocab.first_rank if vocab.first_rank is not None else np.arange(vocab.size)
    tokens = np.array([UNK, BOS, EOS, *vocab.alpha_tokens], dtype=object)
    return write_token_vocab(snapshot, tokens, np.concatenate([[0, 0, 0], counts]), train,
                             np.concatenate([[0, 1, 2], FIRST_WORD_ID + first]))


def write_split_outputs(client: Any, counts: list[Any], summaries: list[Any], vocab: GlobalVocab,
                        fractions: tuple[float, ...], lm_boundary: str, max_order: int, n_buckets: int,
                        staging: Path, run_id: str, progress: Callable[[str, int, int], None],
                        gather: Callable[[list[Any]], list[Any]]) -> dict[str, Any]:
    """Run the split stage on the cluster and write `lm/`, `tokens/`; return the manifest sections."""
    line_counts = [sum(fs.lines for fs in s.file_stats.values()) for s in summaries]
    starts = np.concatenate([[0], np.cumsum(line_counts)]).astype(np.int64)
    plan = plan_split(fractions, lm_boundary, int(starts[-1]), max_order, vocab.size + FIRST_WORD_ID)
    cuts = bucket_cuts(vocab, n_buckets) + FIRST_WORD_ID
    drop = special_tokens_mask(vocab)
    parts_dir = staging / "tokens" / ".pieces"
    parts_dir.mkdir(parents=True)
    done = [client.submit(lm_partition, c, m, drop, int(starts[i]), plan, cuts, str(parts_dir),
                          key=f"lmsplit-{run_id}-{i}", retries=1)
            for i, (c, m) in enumerate(zip(counts, vocab.mappings))]
    heads = [client.submit(_piece, d, key=f"lmpiece-{run_id}-{i}") for i, d in enumerate(done)]
    for n_done, _ in enumerate(as_completed(client, heads), start=1):
        progress("split and count LM", n_done, len(heads))
    pieces: list[LMPiece] = gather(heads)
    train_tokens = sum(p.sizes.get("train", (0, 0))[1] for p in pieces)
    if train_tokens == 0:
        raise CorpusError(f"split {','.join(map(str, plan.fractions))}: the training lines hold no tokens")
    crossing = flat_crossing_rows(pieces, max_order) if lm_boundary == "flat" else {}
    merged = []
    for k in range(1, max_order + 1):
        folder = staging / "lm" / f"n={k}"
        folder.mkdir(parents=True)
        extra = split_by_bucket(crossing[k], cuts) if k in crossing else {}
        for b in range(len(cuts) + 1):
            parts = [client.submit(_pick, d, (k, b), key=f"lmpick-{run_id}-{i}-{k}-{b}") for i, d in enumerate(done)]
            if b in extra:
                parts.append(extra[b])
            merged.append(client.submit(merge_lm_bucket, k, b, parts, plan.vocab_size,
                                        str(folder / f"part-{b:05d}.parquet"), key=f"lmmerge-{run_id}-{k}-{b}",
                                        retries=1))
    for n_done, _ in enumerate(as_completed(client, merged), start=1):
        progress("merge LM counts", n_done, len(merged))
    buckets: list[LMBucket] = gather(merged)
    del done
    sizes = assemble_tokens(staging, parts_dir, pieces, plan)
    write_vocab(staging, vocab, plan)
    lm_totals = {str(k): {"ngrams": sum(b.mass for b in buckets if b.order == k),
                          "distinct": sum(b.rows for b in buckets if b.order == k)} for k in range(1, max_order + 1)}
    return {
        "split": {"fractions": list(plan.fractions), "by": "lines", "lm_boundary": lm_boundary,
                  "cut_lines": [plan.cut_train, plan.cut_valid], "total_lines": plan.total_lines,
                  "lines": {s: v["lines"] for s, v in sizes.items()},
                  "tokens": {s: v["tokens"] for s, v in sizes.items()}},
        "lm": {"orders": list(range(1, max_order + 1)), "totals": lm_totals,
               "sentences": sizes["train"]["lines"] if lm_boundary == "line" else 1,
               "files": {str(k): sorted(Path(b.path).relative_to(staging).as_posix() for b in buckets if b.order == k)
                         for k in range(1, max_order + 1)}},
        "tokens": {"vocab": "tokens/vocab.parquet", "vocab_size": plan.vocab_size, "dtype": plan.dtype.name,
                   "splits": {s: {"ids": f"tokens/{s}/ids.npy", "offsets": f"tokens/{s}/offsets.npy"}
                              for s in SPLITS}},
    }


def _pick(result: tuple[LMPiece, dict[tuple[int, int], IdRows]], key: tuple[int, int]) -> IdRows:
    return result[1][key]


def _piece(result: tuple[LMPiece, dict[tuple[int, int], IdRows]]) -> LMPiece:
    return result[0]
