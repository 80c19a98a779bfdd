"""Language-model data from a snapshot's token ids (`stats --split`): memory maps, never token lists.

The snapshot numbers words alphabetically (`tokens/vocab.parquet`: 0 `<unk>`, 1 `<s>`, 2 `</s>`, words
from 3). A model wants frequency order (the adaptive softmax needs it), so this module builds the
model's vocabulary from the training counts alone: 0 `<unk>`, 1 `</s>`, then the words with
`train_count >= max(min_freq, 1)` by decreasing training count (ties alphabetical), at most `max_vocab`
entries in all. A lookup table (one int per snapshot id) turns snapshot ids into model ids per
minibatch; words that were cut, or occur only in valid / test, read as `<unk>`. Lines are joined with
`</s>` (the n-gram LMs also predict `</s>` at every line end), so the stream is `line </s> line </s> ...`.

What is read up front is the vocabulary table and the headers of the memory maps: start-up time and
memory do not grow with the corpus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqpipe.corpus.token_ids import EOS, EOS_ID, FIRST_WORD_ID, UNK, open_split, read_token_vocab, tokens_dir
from seqpipe.ngrams.store import resolve_snapshot
from seqpipe.text.vocab import Vocab
from seqpipe.train.token_source import LineSource

MODEL_UNK, MODEL_EOS = 0, 1


@dataclass(frozen=True)
class SnapshotCorpus:
    """A model vocabulary, its training counts, and the three splits as token sources."""

    vocab: Vocab
    counts: np.ndarray  # training count per model id (<unk> = cut words, </s> = training lines)
    lookup: np.ndarray  # snapshot id -> model id
    train: LineSource
    valid: LineSource
    test: LineSource
    unit: str  # 'word' or 'char' (from the manifest)
    path: str

    def sizes(self) -> dict[str, int]:
        """Tokens per split, end-of-line tokens included."""
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}

    def oov(self) -> dict[str, int]:
        """`<unk>` tokens in the training split (from the counts; valid / test come from evaluation)."""
        return {"train": int(self.counts[MODEL_UNK])}


def model_vocab_order(train_count: np.ndarray, min_freq: int = 0, max_vocab: int | None = None) -> np.ndarray:
    """Snapshot ids of the kept words in model order: by decreasing training count, ties by id.

    >>> model_vocab_order(np.array([0, 0, 0, 5, 9, 5, 1]), min_freq=2).tolist()
    [4, 3, 5]
    """
    ids = np.arange(FIRST_WORD_ID, len(train_count))
    counts = np.asarray(train_count)[FIRST_WORD_ID:]
    keep = counts >= max(min_freq, 1)
    ids, counts = ids[keep], counts[keep]
    order = ids[np.lexsort((ids, -counts))]
    if max_vocab is not None:
        order = order[: max(0, max_vocab - 2)]
    return order


def load_snapshot_corpus(path: str | Path, min_freq: int = 0, max_vocab: int | None = None) -> SnapshotCorpus:
    """Open a snapshot's token ids (a snapshot folder, or a corpus folder with LATEST) for training."""
    snap = resolve_snapshot(path)
    tokens_dir(snap)  # a one-line error naming the `stats --split` flags when missing
    table = read_token_vocab(snap)
    train_count = table.column("train_count").to_numpy()
    kept = model_vocab_order(train_count, min_freq, max_vocab)
    lookup = np.full(len(train_count), MODEL_UNK, np.int64)
    lookup[kept] = np.arange(2, 2 + len(kept))
    lookup[EOS_ID] = MODEL_EOS
    splits = {s: open_split(snap, s) for s in ("train", "valid", "test")}
    words = table.column("token").take(kept).to_pylist()  # the kept vocabulary only (bounded by max_vocab)
    counts = np.concatenate([[0, splits["train"].lines], train_count[kept]]).astype(np.int64)
    counts[MODEL_UNK] = int(train_count[FIRST_WORD_ID:].sum()) - int(train_count[kept].sum())
    vocab = Vocab([UNK, EOS, *words], counts.tolist())
    sources = {s: LineSource(t.ids, t.offsets, lookup, MODEL_EOS) for s, t in splits.items()}
    return SnapshotCorpus(vocab, counts, lookup, **sources, unit=_unit(snap), path=str(snap))


def snapshot_unit(path: str | Path) -> str:
    """The token unit of a snapshot (or of a corpus folder's latest snapshot)."""
    return _unit(resolve_snapshot(path))


def _unit(snap: Path) -> str:
    """The snapshot's token unit ('word' or 'char'), from its manifest; 'word' when unrecorded."""
    try:
        manifest = json.loads((snap / "_manifest.json").read_text(encoding="utf-8"))
        return str(manifest.get("config", {}).get("text", {}).get("tokens", "word"))
    except (OSError, ValueError):
        return "word"
