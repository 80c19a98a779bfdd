"""Parquet schemas of snapshot tables. Columns are never called `count` (SQL and pandas collide)."""

from __future__ import annotations

import pyarrow as pa

WORD_COLUMNS = ("w1", "w2", "w3", "w4", "w5")


def ngram_schema(order: int) -> pa.Schema:
    """`w1..wK: string, match_count: int64, doc_count: int64` for order K (K lives in the folder name).

    >>> ngram_schema(2).names
    ['w1', 'w2', 'match_count', 'doc_count']
    """
    fields = [pa.field(WORD_COLUMNS[i], pa.string(), nullable=False) for i in range(order)]
    fields += [pa.field("match_count", pa.int64(), nullable=False), pa.field("doc_count", pa.int64(), nullable=False)]
    return pa.schema(fields, metadata={"seqpipe.table": "ngrams", "seqpipe.order": str(order)})
