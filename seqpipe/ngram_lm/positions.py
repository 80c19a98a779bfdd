"""Held-out token positions as a DuckDB table: each predicted token with its history since `<s>`.

Table `pos(w, h1, ..., h{N-1}, u)`: `w` the token (`</s>` included; words the model never saw in
training become `<unk>`), `h1` the token before it, `h2` the one before that, ... (NULL beyond the
sentence's `<s>`), and `u` the length of the longest n-gram that fits: min(N, tokens since `<s>` + 1).
Positions are built from the memory-mapped ids in chunks, so memory does not grow with the split.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from seqpipe.corpus.token_ids import SplitTokens

BOS_ID, EOS_ID = 1, 2
CHUNK = 1 << 18  # positions per Arrow chunk


def _chunk(ids: np.ndarray, lut: np.ndarray, pstart: np.ndarray, lens: np.ndarray, toff: np.ndarray,
           lo: int, hi: int, order: int) -> pa.Table:
    """Positions lo..hi of the padded stream (`<s>` positions dropped) with their histories."""
    back = min(lo, order - 1)
    p = np.arange(lo - back, hi, dtype=np.int64)
    s = np.searchsorted(pstart, p, side="right") - 1
    rel = p - pstart[s]
    val = np.full(p.size, BOS_ID, np.uint32)
    eos = rel == lens[s] + 1
    val[eos] = EOS_ID
    mid = (rel > 0) & ~eos
    val[mid] = lut[np.asarray(ids[toff[s[mid]] + rel[mid] - 1], np.int64)]
    idx = np.flatnonzero((p >= lo) & (rel > 0))
    data = {"w": pa.array(val[idx], pa.uint32())}
    for lag in range(1, order):
        ok = rel[idx] >= lag
        data[f"h{lag}"] = pa.array(val[np.where(ok, idx - lag, 0)], pa.uint32(), mask=~ok)
    data["u"] = pa.array(np.minimum(order, rel[idx] + 1).astype(np.int8), pa.int8())
    return pa.table(data)


def load_positions(con: duckdb.DuckDBPyConnection, split: SplitTokens, lut: np.ndarray, order: int,
                   boundary: str, table: str = "pos") -> tuple[int, int]:
    """Create `table` from one split; return (sentences, word tokens)."""
    offsets = np.asarray(split.offsets, np.int64)
    lens = np.diff(offsets)
    toff = offsets[:-1]
    if boundary == "flat":
        lens, toff = np.array([int(offsets[-1] - offsets[0])]), offsets[:1]
    keep = lens > 0
    lens, toff = lens[keep], toff[keep]
    pstart = np.concatenate([[0], np.cumsum(lens + 2)])
    total = int(pstart[-1])
    cols = ", ".join(["w UINTEGER", *(f"h{lag} UINTEGER" for lag in range(1, order)), "u TINYINT"])
    con.execute(f"CREATE OR REPLACE TABLE {table} ({cols})")
    for lo in range(0, total, CHUNK):
        chunk = _chunk(split.ids, lut, pstart[:-1], lens, toff, lo, min(total, lo + CHUNK), order)
        con.register("pos_chunk", chunk)
        con.execute(f"INSERT INTO {table} SELECT * FROM pos_chunk")
        con.unregister("pos_chunk")
    return int(lens.size), int(lens.sum())
