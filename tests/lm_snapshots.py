"""Build small `tokens/` snapshot folders (the layout of `seqpipe.corpus.token_ids`) for LM tests."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from seqpipe.corpus.token_ids import FIRST_WORD_ID, id_dtype, open_ids_writer, write_split, write_token_vocab


def make_snapshot(root: Path, lines: dict[str, list[list[str]]], unit: str = "word") -> Path:
    """A snapshot folder with `_manifest.json` and `tokens/` from token lists per split (alphabetical ids)."""
    root.mkdir(parents=True, exist_ok=True)
    words = sorted({t for split in lines.values() for line in split for t in line})
    ids = {w: FIRST_WORD_ID + i for i, w in enumerate(words)}
    vocab_size = FIRST_WORD_ID + len(words)
    train_count = np.zeros(vocab_size, np.int64)
    match_count = np.zeros(vocab_size, np.int64)
    for split, split_lines in lines.items():
        flat = np.array([ids[t] for line in split_lines for t in line], id_dtype(vocab_size))
        offsets = np.cumsum([0] + [len(line) for line in split_lines])
        write_split(root, split, flat, offsets)
        np.add.at(match_count, flat.astype(np.int64), 1)
        if split == "train":
            np.add.at(train_count, flat.astype(np.int64), 1)
    tokens = np.array(["<unk>", "<s>", "</s>", *words], dtype=object)
    write_token_vocab(root, tokens, match_count, train_count, np.arange(vocab_size))
    manifest = {"kind": "ngram-snapshot", "config": {"text": {"normalize": "d2l", "tokens": unit}}}
    (root / "_manifest.json").write_text(json.dumps(manifest))
    return root


def pattern_lines(n_lines: int, seed: int = 0, vocab: int = 30) -> list[list[str]]:
    """Lines of a learnable toy language: each word mostly predicts the next (w_i -> w_{i+1 mod V})."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_lines):
        start, length = int(rng.integers(0, vocab)), int(rng.integers(3, 9))
        out.append([f"w{(start + k) % vocab:02d}" for k in range(length)])
    return out


def big_snapshot(root: Path, n_tokens: int, vocab: int = 5000, line: int = 20, held_out: int = 20_000) -> Path:
    """A large snapshot written straight as arrays (no token lists): `n_tokens` train ids, small valid/test."""
    root.mkdir(parents=True, exist_ok=True)
    size = FIRST_WORD_ID + vocab
    rng = np.random.default_rng(0)
    # Zipf(1.3) over the vocabulary's ranks, drawn by inverse CDF: 2.5x cheaper than rng.zipf (8 s at 60 M)
    cdf = np.cumsum(np.arange(1, vocab + 1, dtype=np.float64) ** -1.3)
    cdf /= cdf[-1]
    for split, n in (("train", n_tokens), ("valid", held_out), ("test", held_out)):
        ids = open_ids_writer(root, split, n, id_dtype(size))
        for a in range(0, n, 1 << 22):  # in pieces: the test process stays small too
            b = min(n, a + (1 << 22))
            ids[a:b] = FIRST_WORD_ID + np.minimum(np.searchsorted(cdf, rng.random(b - a), side="right"), vocab - 1)
        ids.flush()
        del ids
        offsets = np.append(np.arange(0, n, line), n).astype(np.int64)
        with open(root / "tokens" / split / "offsets.npy", "wb") as fh:
            np.save(fh, offsets)
    tokens = np.array(["<unk>", "<s>", "</s>", *[f"w{i:05d}" for i in range(vocab)]], dtype=object)
    counts = np.r_[0, 0, 0, np.arange(vocab, 0, -1)] * 10
    write_token_vocab(root, tokens, counts, counts, np.arange(size))
    (root / "_manifest.json").write_text(json.dumps({"config": {"text": {"tokens": "word"}}}))
    return root
