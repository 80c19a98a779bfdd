"""ARPA text streamed from the model tables (never the whole model in memory), written atomically.

Rows are spelled and formatted inside DuckDB (log10 as float32, shortest round-trip text, like
the reference `write_arpa` in tests) and written batch by batch; `<s>` gets lmplz's placeholder probability -99.
Rows within a section are in no particular order (ARPA readers do not need one).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from seqpipe.io import atomic_path
from seqpipe.ngram_lm.sql import on

BOS_ID = 1
_WHITESPACE = re.compile(r"\s")
_BATCH = 1 << 16


def _log10(expr: str) -> str:
    return f"CAST(CAST(log10({expr}) AS FLOAT) AS VARCHAR)"


def _section_sql(k: int, order: int) -> str:
    words = " || ' ' || ".join(f"V{i}.token" for i in range(1, k + 1))
    joins = " ".join(f"JOIN vocab V{i} ON V{i}.id = P.w{i}" for i in range(1, k + 1))
    prob = f"CASE WHEN P.w1 = {BOS_ID} THEN '-99' ELSE {_log10('P.p')} END" if k == 1 else _log10("P.p")
    line = f"{prob} || chr(9) || {words}"
    if k < order:
        joins += f" LEFT JOIN bo{k} B ON {on('B', 'P', k)}"
        line += f" || chr(9) || {_log10('coalesce(B.bo, 1.0)')}"
    return f"SELECT {line} || chr(10) AS line FROM p{k} P {joins}"


def _bytes(column: pa.Array) -> memoryview:
    """The concatenated bytes of a string column (every element already ends in a newline)."""
    column = column.cast(pa.large_string())
    offsets = np.frombuffer(column.buffers()[1], np.int64, count=len(column) + 1, offset=8 * column.offset)
    return memoryview(column.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def check_tokens(tokens: list[str], lm_ids: np.ndarray) -> None:
    """ARPA separates words by whitespace: refuse a vocabulary with whitespace in a token."""
    for i in lm_ids:
        if _WHITESPACE.search(tokens[int(i)]):
            raise ValueError(f"ARPA separates words by whitespace and the vocabulary holds {tokens[int(i)]!r}: use --tokens word")


def write_arpa_tables(con: duckdb.DuckDBPyConnection, order: int, path: str | Path) -> Path:
    """Write the tables p1..pN / bo1..bo{N-1} as an ARPA file at `path` (temp name, then rename)."""
    sizes = [int(con.execute(f"SELECT count(*) FROM p{k}").fetchall()[0][0]) for k in range(1, order + 1)]  # type: ignore[index]
    header = "\\data\\\n" + "".join(f"ngram {k}={n}\n" for k, n in enumerate(sizes, start=1))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(header.encode())
        for k in range(1, order + 1):
            fh.write(f"\n\\{k}-grams:\n".encode())
            reader = con.cursor().sql(_section_sql(k, order)).to_arrow_reader(_BATCH)
            fh.writelines(_bytes(batch.column(0)) for batch in reader)
        fh.write(b"\n\\end\\\n")
    return Path(path)
