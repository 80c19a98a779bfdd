"""Perplexity of the model tables on a `pos` table, summed inside DuckDB (KenLM `query`'s figures)."""

from __future__ import annotations

import math

import duckdb

from seqpipe.ngram_lm.sql import context_on, history_on
from seqpipe.ngrams.lm_eval import Perplexity

UNK_ID = 0


def mkn_logprob_sql(order: int) -> str:
    """SELECT of (w, lp) for every position: longest known n-gram, then back-off weights of longer contexts."""
    joins = [f"LEFT JOIN p{k} P{k} ON {context_on(f'P{k}', k)}" for k in range(2, order + 1)]
    joins += [f"LEFT JOIN bo{j} B{j} ON {history_on(f'B{j}', j)}" for j in range(1, order)]
    best = "coalesce(" + ", ".join(f"P{k}.p" for k in range(order, 0, -1)) + ")" if order > 1 else "P1.p"
    backoff = "".join(f" + CASE WHEN P{j + 1}.p IS NULL THEN coalesce(ln(B{j}.bo), 0.0) ELSE 0.0 END" for j in range(1, order))
    return (f"SELECT pos.w AS w, ln({best}){backoff} AS lp FROM pos JOIN p1 P1 ON P1.w1 = pos.w "
            + " ".join(joins))


def count_logprob_sql(order: int, k: float, vocab_size: int) -> str:
    """SELECT of (w, lp) under add-k (k > 0) or MLE (k = 0): the n-gram since `<s>`, no back-off; NULL lp = probability 0."""
    parts = []
    for n in range(1, order + 1):
        if n == 1:
            den, ctx_join = "(SELECT total FROM tot1)", ""
        else:
            den, ctx_join = "coalesce(T.den, 0)", f"LEFT JOIN tot{n} T ON {history_on('T', n - 1)}"
        num = "coalesce(C.match_count, 0)"
        prob = (f"({num} + {k!r}) / ({den} + {k * vocab_size!r})" if k > 0
                else f"CASE WHEN {den} > 0 THEN {num} / {den} ELSE 0.0 END")
        parts.append(f"SELECT pos.w AS w, {prob} AS q FROM pos LEFT JOIN c{n} C ON {context_on('C', n)} {ctx_join} "
                     f"WHERE pos.u = {n}")
    return "SELECT w, CASE WHEN q > 0 THEN ln(q) END AS lp FROM (" + " UNION ALL ".join(parts) + ")"


def summarize(con: duckdb.DuckDBPyConnection, logprob_sql: str, vocab_size: int, sentences: int) -> Perplexity:
    """The `Perplexity` figures from per-position log-probabilities (natural logs; NULL = probability 0)."""
    tokens, oovs, s_all, s_in, zero, zero_in = con.execute(
        f"SELECT count(*), count(*) FILTER (w = {UNK_ID}), sum(lp), sum(lp) FILTER (w <> {UNK_ID}), "
        f"count(*) FILTER (lp IS NULL), count(*) FILTER (lp IS NULL AND w <> {UNK_ID}) FROM ({logprob_sql})"
    ).fetchall()[0]  # type: ignore[misc]
    if tokens == 0:
        raise ValueError("nothing to score: the evaluation text holds no sentences")
    nll_incl = math.inf if zero else -float(s_all or 0.0)
    nll_excl = math.inf if zero_in else -float(s_in or 0.0)
    ppl_incl = math.exp(nll_incl / tokens) if nll_incl / tokens < 700 else math.inf
    inv = tokens - oovs
    ppl_excl = math.exp(nll_excl / inv) if inv > 0 and nll_excl / inv < 700 else math.inf
    return Perplexity(ppl_incl, ppl_excl, int(oovs), int(tokens), nll_incl, float(vocab_size),
                      int(zero), int(zero_in), sentences)
