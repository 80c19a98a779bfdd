"""A reference writer of the split-snapshot layout (`stats --split`), from normalized lines, in memory.

It is the fixture the out-of-core LM estimator is tested on, and what `stats --split` must reproduce:

- the lines are cut with `split_lines(lines, fractions)` (contiguous, empty lines dropped after the cut);
- `tokens/vocab.parquet`: ids 0 `<unk>`, 1 `<s>`, 2 `</s>`, then every token of the corpus (all splits)
  in code-point order from 3; `match_count` counts all splits, `train_count` the training lines
  (specials: `<unk>` 0, `<s>` and `</s>` the number of training sentences in both columns);
  `first_seen` is 0, 1, 2 for the specials and 3 + the rank of first occurrence in corpus order
  (train, valid, test) for words;
- `tokens/<split>/ids.npy` + `offsets.npy`: the non-empty lines of each split (no markers);
- `lm/n=k/part-0000i.parquet`, k = 1..K: w1..wk (uint32), match_count (int64), the k-grams of the
  training lines padded `<s> ... </s>` per line (`lm_boundary="flat"`: the whole range is one sentence),
  as `count_ngrams` counts them (`<unk>` never appears; no zero counts), sorted by (w1..wk) and cut
  into `parts` files by ranges of w1;
- `_manifest.json` with "split", "lm" and "config.text" as `stats --split` writes them.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from reference_lm.lm_counts import BOS, EOS, UNK, count_ngrams, encode_lines

from seqpipe.corpus.token_ids import id_dtype, write_split, write_token_vocab
from seqpipe.text.split import split_lines


def _columns(tables, size: int) -> list[list[np.ndarray]]:
    """Word columns (in-memory ids) of every order's table, row for row."""
    cols: list[list[np.ndarray]] = []
    for k, table in enumerate(tables, start=1):
        if k == 1:
            cols.append([table.keys.copy()])
            continue
        ctx, word = np.divmod(table.keys, size)
        cols.append([c[ctx] for c in cols[-1]] + [word])
    return cols


def write_split_snapshot(
    lines: list[str], folder: str | Path, fractions: tuple[float, ...] = (0.9,), orders: int = 5,
    unit: str = "word", lm_boundary: str = "line", normalize: str = "d2l", parts: int = 2,
) -> Path:
    """Write the split-snapshot layout of normalized `lines` under `folder`; return the folder."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    split = split_lines(lines, fractions)
    order_table = {UNK: 0, BOS: 1, EOS: 2}
    encoded = {name: encode_lines(getattr(split, name), unit, "line", order_table, grow=True)  # type: ignore[arg-type]
               for name in ("train", "valid", "test")}
    first = list(order_table)  # tokens by first occurrence in corpus order
    words = sorted(first[3:])
    tokens = np.array([UNK, BOS, EOS, *words], dtype=object)
    new_id = {t: i for i, t in enumerate(tokens)}
    remap = np.array([new_id[t] for t in first], np.int64)  # first-occurrence id -> snapshot id
    first_seen = np.empty(len(tokens), np.int64)
    first_seen[remap] = np.arange(len(first))
    match = np.zeros(len(tokens), np.int64)
    train_count = np.zeros(len(tokens), np.int64)
    dtype = id_dtype(len(tokens))
    for name, (ids, lens) in encoded.items():
        snap_ids = remap[ids].astype(dtype)
        write_split(root, name, snap_ids, np.concatenate([[0], np.cumsum(lens)]))
        counts = np.bincount(snap_ids, minlength=len(tokens))
        match += counts
        if name == "train":
            train_count += counts
    counts = count_ngrams(split.train, orders, unit, lm_boundary)  # type: ignore[arg-type]
    match[1] = match[2] = train_count[1] = train_count[2] = counts.sentences
    write_token_vocab(root, tokens, match, train_count, first_seen)
    to_snap = np.array([new_id[t] for t in counts.vocab.idx_to_token], np.int64)
    for k, (cols, table) in enumerate(zip(_columns(counts.tables, len(counts.vocab)), counts.tables), start=1):
        keep = table.counts > 0
        snap = [to_snap[c[keep]].astype(np.uint32) for c in cols]
        mc = table.counts[keep]
        perm = np.lexsort(snap[::-1])
        snap, mc = [c[perm] for c in snap], mc[perm]
        out = root / "lm" / f"n={k}"
        out.mkdir(parents=True, exist_ok=True)
        cuts = np.searchsorted(snap[0], np.linspace(0, len(tokens), parts + 1)[1:-1].astype(np.int64))
        for i, (lo, hi) in enumerate(zip([0, *cuts], [*cuts, mc.size])):
            data = {f"w{j + 1}": pa.array(c[lo:hi], pa.uint32()) for j, c in enumerate(snap)}
            data["match_count"] = pa.array(mc[lo:hi], pa.int64())
            pq.write_table(pa.table(data), out / f"part-{i:05d}.parquet")
    manifest = {
        "schema_version": 1,
        "config": {"text": {"normalize": normalize, "tokens": unit}},
        "split": {"fractions": list(fractions), "lm_boundary": lm_boundary,
                  "lines": {name: int(lens.size) for name, (_, lens) in encoded.items()}},
        "lm": {"orders": list(range(1, orders + 1))},
    }
    (root / "_manifest.json").write_text(json.dumps(manifest, indent=2))
    return root
