"""Next-token distributions read from the model tables, so `generate` can sample without loading the model."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np

from seqpipe.ngram_lm.sql import first_row, where_equal
from seqpipe.text.vocab import Vocab

BOS_ID = 1


class TableLM:
    """What `seqpipe.ngram_lm.generate` needs (order, vocab, next_distribution), answered by DuckDB queries."""

    def __init__(self, con: duckdb.DuckDBPyConnection, order: int, smoothing: str, k: float,
                 tokens: list[str], lm_ids: np.ndarray):
        self.con, self.order, self.smoothing, self.k = con, order, smoothing, k
        self.vocab = Vocab(tokens, [0] * len(tokens))
        self.in_lm = np.zeros(len(tokens), bool)
        self.in_lm[lm_ids] = True
        self.vocab_size = int(lm_ids.size) - 1  # <s> is never predicted
        table = "p1" if smoothing == "mkn" else "c1"
        value = "p" if smoothing == "mkn" else "match_count::DOUBLE"
        ids, vals = self._rows(f"SELECT w1, {value} FROM {table}")
        self.unigram = np.zeros(len(tokens))
        self.unigram[ids] = vals

    def _rows(self, sql: str) -> tuple[np.ndarray, np.ndarray]:
        got = self.con.execute(sql).fetchnumpy()
        names = list(got)
        return np.asarray(got[names[0]], np.int64), np.asarray(got[names[1]], np.float64)

    def _extensions(self, context: Sequence[int], value: str, table: str) -> tuple[np.ndarray, np.ndarray]:
        j = len(context)
        return self._rows(f"SELECT w{j + 1}, {value} FROM {table}{j + 1} WHERE {where_equal(j, context)}")

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """Probabilities over all snapshot ids of the next token (0 for `<s>` and words unseen in training)."""
        hist = [int(h) for h in history]
        if self.smoothing == "mkn":
            dist = self.unigram.copy()
            for j in range(1, min(self.order - 1, len(hist)) + 1):
                context = hist[-j:]
                bo = first_row(self.con, f"SELECT bo FROM bo{j} WHERE {where_equal(j, context)}")
                dist *= bo[0] if bo else 1.0
                ids, probs = self._extensions(context, "p", "p")
                dist[ids] = probs
            return dist
        if BOS_ID in hist:
            hist = hist[len(hist) - 1 - hist[::-1].index(BOS_ID):]
        width = min(self.order - 1, len(hist))
        num = np.zeros(self.unigram.size)
        if width == 0:
            num[:] = self.unigram
            den = float(self.unigram.sum() - self.unigram[BOS_ID])
        else:
            ids, counts = self._extensions(hist[-width:], "match_count::DOUBLE", "c")
            num[ids] = counts
            den = float(counts.sum())
        if self.k == 0 and den == 0:
            raise ValueError("MLE cannot continue: the context was never seen in training")
        dist = (num + self.k) / (den + self.k * self.vocab_size) if self.k > 0 else num / den
        dist[~self.in_lm] = 0.0
        dist[BOS_ID] = 0.0
        return dist
