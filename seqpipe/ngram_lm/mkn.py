"""Interpolated modified Kneser-Ney exactly as `lmplz`, order by order in DuckDB over the Parquet counts.

Tables left in the database (the model): `p{k}(w1..wk, p)` interpolated probabilities of every k-gram,
and `bo{j}(w1..wj, den, bo)` the back-off weight (gamma) of every j-word context that has extensions
(a context without extensions backs off with weight 1). Views `c{k}` are the raw counts (see counts.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import duckdb
import numpy as np

from seqpipe.ngram_lm.config import KENLM_FALLBACK
from seqpipe.ngram_lm.discounts import kenlm_discounts
from seqpipe.ngram_lm.sql import cols, first_row, on, renamed, where_equal

BOS_ID, UNK_ID = 1, 0


@dataclass
class MknFacts:
    """What the estimate reports: discounts per order and why any fell back."""

    discounts: list[tuple[float, float, float]] = field(default_factory=list)
    fallback: dict[int, str] = field(default_factory=dict)


def _adjusted(con: duckdb.DuckDBPyConnection, k: int, order: int) -> None:
    """Table (or view, top order) adj{k}: lmplz's adjusted counts of every k-gram."""
    if k == order:
        if k == 1:  # raw counts; <s> is never predicted, <unk> never seen
            con.execute(f"CREATE TABLE adj1 AS SELECT w1, CASE WHEN w1 = {BOS_ID} THEN 0 ELSE match_count END AS a "
                        f"FROM c1 WHERE w1 <> {UNK_ID} UNION ALL SELECT {UNK_ID}::UINTEGER, 0")
        else:
            con.execute(f"CREATE VIEW adj{k} AS SELECT {cols(k)}, match_count AS a FROM c{k}")
        return
    # continuation counts: distinct left extensions; k-grams starting with <s> keep their raw count
    cont = f"SELECT {renamed(k, 2)}, count(*)::BIGINT AS a FROM c{k + 1} GROUP BY {cols(k, first=2)}"
    if k == 1:
        rest = f"SELECT {BOS_ID}::UINTEGER, 0 UNION ALL SELECT {UNK_ID}::UINTEGER, 0"
    else:
        rest = f"SELECT {cols(k)}, match_count FROM c{k} WHERE w1 = {BOS_ID}"
    con.execute(f"CREATE TABLE adj{k} AS {cont} UNION ALL {rest}")


def _flush_chain(con: duckdb.DuckDBPyConnection, order: int, rank: np.ndarray, lm_words: np.ndarray) -> list[tuple[int, ...]]:
    """The suffixes (orders 1..N-1) of the last N-gram in lmplz's suffix order.

    lmplz's adjust_counts adds these last lower-order entries to the count-of-counts with their raw
    count instead of the adjusted one; matching its discounts exactly means doing the same.
    """
    chain: list[tuple[int, ...]] = [(int(lm_words[np.argmax(rank[lm_words])]),)]  # the word lmplz saw last
    for k in range(2, order):
        prev = chain[-1]
        match = " AND ".join(f"c.w{i + 2} = {int(x)}" for i, x in enumerate(prev))  # prev is the suffix
        row = first_row(con, f"SELECT c.w1 FROM c{k} c JOIN vocab v ON v.id = c.w1 WHERE {match} "
                             "ORDER BY v.rank DESC LIMIT 1")
        if row is None:  # the previous entry starts with <s>
            break
        chain.append((int(row[0]), *prev))
    return chain


def _count_of_counts(con: duckdb.DuckDBPyConnection, k: int, flush: tuple[int, ...] | None) -> list[int]:
    """n1..n4 of order k's adjusted counts, with the flushed entry counted by its raw count."""
    got = dict(con.execute(f"SELECT a, count(*) FROM adj{k} WHERE a BETWEEN 1 AND 4 GROUP BY a").fetchall())
    n = [int(got.get(j, 0)) for j in (1, 2, 3, 4)]
    if flush is not None:
        adj = first_row(con, f"SELECT a FROM adj{k} WHERE {where_equal(k, flush)}")
        raw = first_row(con, f"SELECT match_count FROM c{k} WHERE {where_equal(k, flush)}")
        for value, sign in ((adj, -1), (raw, 1)):
            if value is not None and 1 <= int(value[0]) <= 4:
                n[int(value[0]) - 1] += sign
    return n


def _discount_sql(d: Sequence[float], a: str = "a") -> str:
    """The discount of an adjusted count column: 0, D1, D2 or D3+."""
    return f"CASE WHEN {a} = 0 THEN 0.0::DOUBLE WHEN {a} = 1 THEN {d[0]!r}::DOUBLE WHEN {a} = 2 THEN {d[1]!r}::DOUBLE ELSE {d[2]!r}::DOUBLE END"


def estimate_mkn(con: duckdb.DuckDBPyConnection, order: int, rank: np.ndarray, lm_words: np.ndarray,
                 fallback: Sequence[float] = KENLM_FALLBACK) -> MknFacts:
    """Build p1..pN and bo1..bo{N-1} from the count views c1..cN; return the discounts."""
    facts = MknFacts()
    flush = _flush_chain(con, order, rank, lm_words) if order > 1 else []
    for k in range(1, order + 1):
        _adjusted(con, k, order)  # from the raw counts of order k + 1; kept until p{k + 1} is built
        n = _count_of_counts(con, k, flush[k - 1] if k <= len(flush) else None)
        d, why = kenlm_discounts(n, fallback)
        facts.discounts.append(d)
        if why:
            facts.fallback[k] = why
        disc = _discount_sql(d)
        if k == 1:
            den, mass, size = con.execute(f"SELECT sum(a)::DOUBLE, sum({disc})::DOUBLE, count(*) FROM adj1").fetchall()[0]  # type: ignore[misc]
            gamma = mass / den
            con.execute(f"CREATE TABLE p1 AS SELECT w1, CASE WHEN w1 = {BOS_ID} THEN 0.0 "
                        f"ELSE (a - {disc}) / {den!r} + {gamma!r} / {size - 1} END AS p FROM adj1")
        else:
            j = k - 1
            con.execute(f"CREATE TABLE bo{j} AS SELECT {cols(j)}, sum(a)::DOUBLE AS den, "
                        f"sum({disc}) / sum(a)::DOUBLE AS bo FROM adj{k} GROUP BY {cols(j)}")
            # one large join per statement: DuckDB spills a single hash join, not several in one pipeline
            con.execute(f"CREATE TABLE ctx{k} AS SELECT {cols(k, 'A')}, A.a, B.den, B.bo "
                        f"FROM adj{k} A JOIN bo{j} B ON {on('A', 'B', j)}")
            con.execute(
                f"CREATE TABLE p{k} AS SELECT {cols(k, 'A')}, (A.a - {_discount_sql(d, 'A.a')}) / A.den + A.bo * L.p AS p "
                f"FROM ctx{k} A JOIN p{j} L ON {on('L', 'A', j, right_first=2)}"
            )
            con.execute(f"DROP TABLE ctx{k}")
            con.execute(f"DROP TABLE adj{j}")
    con.execute(f"DROP {'VIEW' if order > 1 else 'TABLE'} adj{order}")
    return facts
