"""What estimation reads from a split snapshot: manifest facts, the LM count files, the vocabulary."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.token_ids import read_token_vocab, tokens_dir
from seqpipe.ngrams.store import resolve_snapshot

MAKE_SPLIT = "`seqpipe stats SOURCE... --split 0.9 --orders 1,2,3,4,5`"


@dataclass(frozen=True)
class SnapshotInputs:
    """A validated split snapshot: its folder, split facts and the count files of orders 1..order."""

    folder: Path
    fractions: tuple[float, ...]
    boundary: str  # line | flat
    lines: dict[str, int]
    normalize: str
    tokens: str  # word | char
    parts: list[list[Path]]  # parts[k - 1]: the files of lm/n=k
    vocab_tokens: list[str]  # id -> token
    train_count: np.ndarray  # id -> count in the training lines (0: OOV for the LM)
    rank: np.ndarray  # id -> lmplz's word id order (specials 0, 1, 2; words by first occurrence)
    sources: list[str] = field(default_factory=list)  # what the snapshot counted (its manifest's corpus sources)

    @property
    def vocab_size(self) -> int:
        """Number of ids in the snapshot's vocabulary (words of every split and the three markers)."""
        return len(self.vocab_tokens)


def _check_part(path: Path, order: int) -> None:
    try:
        names = pq.read_schema(path).names
        pq.read_metadata(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's data problem
        raise CorpusError(f"{path}: corrupt LM count file ({type(exc).__name__}: {' '.join(str(exc).split())})") from None
    want = [f"w{i}" for i in range(1, order + 1)] + ["match_count"]
    if [n for n in names if n in want] != want:
        raise CorpusError(f"{path}: expected columns {', '.join(want)}, found {', '.join(names)}")


def open_snapshot(path: str | Path, order: int) -> SnapshotInputs:
    """Resolve a snapshot (or a corpus folder's LATEST) and check it holds LM counts up to `order`."""
    folder = resolve_snapshot(path)
    try:
        manifest = json.loads((folder / "_manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{folder / '_manifest.json'}: unreadable ({exc})") from None
    split, lm = manifest.get("split"), manifest.get("lm")
    if not isinstance(split, dict) or not isinstance(lm, dict) or not lm.get("orders"):
        raise CorpusError(f"{folder}: the snapshot has no train/test split and LM counts; make one with {MAKE_SPLIT}")
    orders = sorted(int(k) for k in lm["orders"])
    missing = [k for k in range(1, order + 1) if k not in orders]
    if missing:
        raise CorpusError(f"{folder}: LM counts go up to order {max(orders)}, --order {order} needs orders "
                          f"1..{order}; make them with {MAKE_SPLIT}")
    parts: list[list[Path]] = []
    for k in range(1, order + 1):
        files = sorted((folder / "lm" / f"n={k}").glob("part-*.parquet"))
        if not files:
            raise CorpusError(f"{folder / 'lm' / f'n={k}'}: no LM count files (part-*.parquet); make them with {MAKE_SPLIT}")
        for f in files:
            _check_part(f, k)
        parts.append(files)
    tokens_dir(folder)
    try:
        vocab = read_token_vocab(folder)
    except (OSError, ValueError) as exc:
        raise CorpusError(f"{folder / 'tokens' / 'vocab.parquet'}: missing or corrupt ({exc})") from None
    ids = vocab.column("id").to_numpy()
    if not np.array_equal(ids, np.arange(ids.size)) or ids.size < 3:
        raise CorpusError(f"{folder / 'tokens' / 'vocab.parquet'}: ids must run 0, 1, 2, ... (specials first)")
    rank = vocab.column("first_seen").to_numpy().astype(np.int64) + 3
    rank[:3] = np.arange(3)
    text = manifest.get("config", {}).get("text", {})
    return SnapshotInputs(
        folder, tuple(float(f) for f in split.get("fractions", ())), str(split.get("lm_boundary", "line")),
        {k: int(v) for k, v in split.get("lines", {}).items()}, str(text.get("normalize", "d2l")),
        str(text.get("tokens", "word")), parts, vocab.column("token").to_pylist(),
        vocab.column("train_count").to_numpy().astype(np.int64), rank,
        [str(x) for x in manifest.get("config", {}).get("corpus", {}).get("sources", [])] or [str(folder)],
    )


def find_corrupt_part(snap: SnapshotInputs) -> str | None:
    """Read every count file through; the first that fails, with why (called after an engine error)."""
    for files in snap.parts:
        for path in files:
            try:
                for _ in pq.ParquetFile(path).iter_batches(batch_size=1 << 16):
                    pass
            except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's data problem
                return f"{path}: corrupt LM count file ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    return None
