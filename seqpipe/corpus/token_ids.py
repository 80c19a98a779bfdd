"""A snapshot's token ids (`stats --split`): one memory-mappable array per split, line offsets, a vocabulary.

Layout under a snapshot folder::

    tokens/vocab.parquet          id (uint32), token, match_count, train_count, first_seen
    tokens/<split>/ids.npy        uint16 when the vocabulary fits, else uint32; corpus order, no markers
    tokens/<split>/offsets.npy    int64, lines + 1 entries: line i is ids[offsets[i]:offsets[i + 1]]

`<split>` is `train`, `valid` or `test` (non-empty lines of each contiguous range, empty lines dropped
after the cut). Ids 0, 1, 2 are `<unk>`, `<s>`, `</s>` (never inside `ids.npy`); words follow from 3 in
alphabetical (code point) order. `train_count` is a token's count in the training lines (0: it only
occurs in valid/test, so a model trained on this snapshot reads it as `<unk>`); `first_seen` ranks
tokens by first occurrence in corpus order (what lmplz numbers its words by).

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> write_split(root, "train", np.array([3, 4, 3], np.uint16), np.array([0, 2, 3]))
>>> s = open_split(root, "train")
>>> s.ids.tolist(), s.lines, s.line(1).tolist()
([3, 4, 3], 2, [3])
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from seqpipe.corpus.errors import CorpusError
from seqpipe.io import atomic_path

SPLITS = ("train", "valid", "test")
UNK, BOS, EOS = "<unk>", "<s>", "</s>"
UNK_ID, BOS_ID, EOS_ID = 0, 1, 2
FIRST_WORD_ID = 3
TOKENS_DIR = "tokens"
MAKE_TOKENS = "`seqpipe stats SOURCE... --split 0.9[,0.05]`"
TOKEN_VOCAB_SCHEMA = pa.schema(
    [("id", pa.uint32()), ("token", pa.string()), ("match_count", pa.int64()),
     ("train_count", pa.int64()), ("first_seen", pa.int64())],
    metadata={"seqpipe.table": "token-vocab"},
)


def id_dtype(vocab_size: int) -> np.dtype:
    """uint16 when every id fits, else uint32.

    >>> id_dtype(65536), id_dtype(65537)
    (dtype('uint16'), dtype('uint32'))
    """
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.uint32)


@dataclass(frozen=True)
class SplitTokens:
    """One split's token ids and line offsets, memory-mapped (nothing is read until used)."""

    ids: np.ndarray
    offsets: np.ndarray

    @property
    def lines(self) -> int:
        """Number of (non-empty) lines."""
        return int(self.offsets.size - 1)

    def line(self, i: int) -> np.ndarray:
        """Token ids of line i."""
        return self.ids[int(self.offsets[i]) : int(self.offsets[i + 1])]


def tokens_dir(snapshot: str | Path) -> Path:
    """`<snapshot>/tokens`, or a one-line error naming the flags that make it."""
    folder = Path(snapshot) / TOKENS_DIR
    if not folder.is_dir():
        raise CorpusError(f"{snapshot}: the snapshot has no token ids (tokens/); make one with {MAKE_TOKENS}")
    return folder


def write_split(snapshot: str | Path, split: str, ids: np.ndarray, offsets: np.ndarray) -> None:
    """Write one split's arrays (each atomically) under `<snapshot>/tokens/<split>/`."""
    if split not in SPLITS:
        raise ValueError(f"split {split!r}: one of {', '.join(SPLITS)}")
    for name, arr in (("ids.npy", ids), ("offsets.npy", np.asarray(offsets, np.int64))):
        _save(Path(snapshot) / TOKENS_DIR / split / name, arr)


def write_offsets(snapshot: str | Path, split: str, offsets: np.ndarray) -> None:
    """Write one split's line offsets (int64, lines + 1 entries), atomically."""
    _save(Path(snapshot) / TOKENS_DIR / split / "offsets.npy", np.asarray(offsets, np.int64))


def _save(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, arr)


def open_ids_writer(snapshot: str | Path, split: str, n_tokens: int, dtype: np.dtype) -> np.memmap:
    """A writable memory map for `n_tokens` ids of one split (the caller fills it in pieces, then flushes)."""
    folder = Path(snapshot) / TOKENS_DIR / split
    folder.mkdir(parents=True, exist_ok=True)
    return np.lib.format.open_memmap(folder / "ids.npy", mode="w+", dtype=dtype, shape=(n_tokens,))


def open_split(snapshot: str | Path, split: str) -> SplitTokens:
    """Memory-map one split's ids and offsets."""
    folder = tokens_dir(snapshot) / split
    try:
        ids = np.load(folder / "ids.npy", mmap_mode="r")
        offsets = np.load(folder / "offsets.npy", mmap_mode="r")
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{folder}: token ids missing or corrupt ({type(exc).__name__}: {exc})") from None
    if offsets.size == 0 or int(offsets[-1]) != ids.size:
        raise CorpusError(f"{folder}: offsets do not match the ids ({ids.size:,} ids, last offset "
                          f"{int(offsets[-1]) if offsets.size else 'none'})")
    return SplitTokens(ids, offsets)


def write_token_vocab(snapshot: str | Path, tokens: np.ndarray, match_count: np.ndarray,
                      train_count: np.ndarray, first_seen: np.ndarray) -> Path:
    """Write `tokens/vocab.parquet`; `tokens[i]` is the token of id i (specials first)."""
    path = Path(snapshot) / TOKENS_DIR / "vocab.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        [pa.array(np.arange(len(tokens), dtype=np.uint32)), pa.array(list(tokens), pa.string()),
         pa.array(match_count, pa.int64()), pa.array(train_count, pa.int64()), pa.array(first_seen, pa.int64())],
        schema=TOKEN_VOCAB_SCHEMA,
    )
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return path


def read_token_vocab(snapshot: str | Path) -> pa.Table:
    """`tokens/vocab.parquet` as an Arrow table (row i is id i)."""
    return pq.read_table(tokens_dir(snapshot) / "vocab.parquet")
