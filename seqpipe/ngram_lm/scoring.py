"""Perplexity of the model tables on a `pos` table (KenLM `query`'s figures), one large join per statement.

Each step joins the positions with ONE model table and writes a new positions table (DuckDB spills a
single hash join; several large hash joins in one pipeline must fit in memory together). The result is
a table `s(w, lp, ...)`: natural-log probability per position, NULL where the probability is 0.
"""

from __future__ import annotations

import math

import duckdb

from seqpipe.ngram_lm.perplexity import Perplexity
from seqpipe.ngram_lm.sql import context_on, history_on

UNK_ID = 0


def _step(con: duckdb.DuckDBPyConnection, select: str, join: str) -> None:
    """s := SELECT pos.* EXCLUDE (...), <select> FROM s AS pos <join>."""
    con.execute(f"CREATE TABLE s_next AS SELECT {select} FROM s AS pos {join}")
    con.execute("DROP TABLE s")
    con.execute("ALTER TABLE s_next RENAME TO s")


def score_mkn(con: duckdb.DuckDBPyConnection, order: int) -> None:
    """Longest known n-gram (orders N..1), then the back-off weights of the longer contexts it skipped."""
    con.execute("CREATE TABLE s AS SELECT *, NULL::DOUBLE AS lp, 0::TINYINT AS m FROM pos")
    for k in range(order, 0, -1):
        _step(con, f"pos.* EXCLUDE (lp, m), coalesce(pos.lp, ln(P.p)) AS lp, "
                   f"CASE WHEN pos.lp IS NULL AND P.p IS NOT NULL THEN {k} ELSE pos.m END AS m",
              f"LEFT JOIN p{k} P ON {context_on('P', k)}")
    for j in range(1, order):
        _step(con, f"pos.* EXCLUDE (lp), pos.lp + CASE WHEN pos.m <= {j} THEN coalesce(ln(B.bo), 0.0) ELSE 0.0 END AS lp",
              f"LEFT JOIN bo{j} B ON {history_on('B', j)}")


def score_counts(con: duckdb.DuckDBPyConnection, order: int, k: float, vocab_size: int) -> None:
    """add-k (k > 0) or MLE (k = 0) on the n-gram since `<s>` (no back-off); an unseen context under add-k is uniform."""
    con.execute("CREATE TABLE s AS SELECT *, 0::DOUBLE AS num, (SELECT total FROM tot1) AS den FROM pos")
    for n in range(1, order + 1):
        _step(con, f"pos.* EXCLUDE (num), CASE WHEN pos.u = {n} THEN coalesce(C.match_count, 0) ELSE pos.num END AS num",
              f"LEFT JOIN c{n} C ON {context_on('C', n)} AND pos.u = {n}")
        if n > 1:
            _step(con, f"pos.* EXCLUDE (den), CASE WHEN pos.u = {n} THEN coalesce(T.den, 0.0) ELSE pos.den END AS den",
                  f"LEFT JOIN tot{n} T ON {history_on('T', n - 1)} AND pos.u = {n}")
    q = f"(num + {k!r}) / (den + {k * vocab_size!r})" if k > 0 else "CASE WHEN den > 0 THEN num / den ELSE 0.0 END"
    _step(con, f"pos.w, CASE WHEN {q} > 0 THEN ln({q}) END AS lp", "")


def summarize(con: duckdb.DuckDBPyConnection, vocab_size: int, sentences: int) -> Perplexity:
    """The `Perplexity` figures from table `s` (natural logs; NULL lp = probability 0); drops `s`."""
    tokens, oovs, s_all, s_in, zero, zero_in = con.execute(
        f"SELECT count(*), count(*) FILTER (w = {UNK_ID}), sum(lp), sum(lp) FILTER (w <> {UNK_ID}), "
        f"count(*) FILTER (lp IS NULL), count(*) FILTER (lp IS NULL AND w <> {UNK_ID}) FROM s"
    ).fetchall()[0]
    con.execute("DROP TABLE s")
    if tokens == 0:
        raise ValueError("nothing to score: the evaluation text holds no sentences")
    nll_incl = math.inf if zero else -float(s_all or 0.0)
    nll_excl = math.inf if zero_in else -float(s_in or 0.0)
    ppl_incl = math.exp(nll_incl / tokens) if nll_incl / tokens < 700 else math.inf
    inv = tokens - oovs
    ppl_excl = math.exp(nll_excl / inv) if inv > 0 and nll_excl / inv < 700 else math.inf
    return Perplexity(ppl_incl, ppl_excl, int(oovs), int(tokens), nll_incl, float(vocab_size),
                      int(zero), int(zero_in), sentences)
