"""N-gram language models from exact counts: MLE, add-k, and interpolated modified Kneser-Ney like `lmplz`.

Conventions (KenLM's): every sentence is `<s> w1 ... wn </s>`; `<s>` is context only (never predicted),
`</s>` is a predicted token, unknown words are `<unk>`. The predictable vocabulary is every training
word plus `</s>` and `<unk>`, so a uniform model has perplexity `vocab_size = len(vocab) - 1`.
Probabilities are float64 and log-probabilities natural logs; ARPA export converts to log10.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from reference_lm.lm_counts import BOS_ID, UNK_ID, NgramCounts, NgramTable, lookup_rows
from seqpipe.ngram_lm.config import KENLM_FALLBACK, NgramLMConfig
from seqpipe.ngram_lm.discounts import kenlm_discounts
from seqpipe.text.vocab import Vocab


@dataclass
class NgramLM:
    """What every n-gram model shares: the counts it was estimated from and its smoothing."""

    counts: NgramCounts
    smoothing: str

    @property
    def order(self) -> int:
        """The model's order N (context of N-1 tokens)."""
        return self.counts.order

    @property
    def vocab(self) -> Vocab:
        """Token <-> id mapping (`<unk>` 0, `<s>` 1, `</s>` 2, then words by frequency)."""
        return self.counts.vocab

    @property
    def vocab_size(self) -> int:
        """Number of predictable tokens: the words, `</s>` and `<unk>` (not `<s>`)."""
        return len(self.counts.vocab) - 1

    def token_logprobs(self, seq: np.ndarray) -> np.ndarray:
        """Natural-log probability of every token after a `<s>` in a padded id stream (`</s>` included)."""
        raise NotImplementedError

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """Probabilities over all ids of the next token after `history` (ids, `<s>` first at a sentence start)."""
        raise NotImplementedError


def _words(table: NgramTable, vocab_size: int) -> np.ndarray:
    return table.keys % vocab_size


def _extensions(tables: list[NgramTable], order: int, row: int, vocab_size: int) -> slice:
    """Rows of the order-`order` table whose context is `row` of the table below (contiguous: keys sort by context)."""
    keys = tables[order - 1].keys
    lo, hi = np.searchsorted(keys, [row * vocab_size, (row + 1) * vocab_size])
    return slice(int(lo), int(hi))


def _history_rows(tables: list[NgramTable], history: Sequence[int], order: int) -> list[int]:
    """Rows of the last 1, 2, ... tokens of `history` in the tables (as long as they exist, up to order-1)."""
    width = min(order - 1, len(history))
    if width == 0:
        return []
    rows = lookup_rows(tables[:width], np.asarray(history[-width:], np.int32))
    out = []
    for r in rows:
        if r[-1] < 0:
            break
        out.append(int(r[-1]))
    return out


@dataclass
class KneserNeyLM(NgramLM):
    """Interpolated modified Kneser-Ney, stored as a back-off model (what ARPA holds).

    prob[k-1][r]: interpolated probability of the k-gram in row r; backoff[k-1][r]: weight of that k-gram
    as a context (gamma; 1.0 where it is no context), orders 1..N-1.
    """

    prob: list[np.ndarray] = field(default_factory=list)
    backoff: list[np.ndarray] = field(default_factory=list)
    discounts: list[tuple[float, float, float]] = field(default_factory=list)
    fallback: dict[int, str] = field(default_factory=dict)  # order -> why its discounts fell back

    def token_logprobs(self, seq: np.ndarray) -> np.ndarray:
        """Natural-log probabilities, scored like KenLM's `query`: longest match, then back-off weights."""
        n = self.order
        rows = lookup_rows(self.counts.tables, seq)
        pos = np.flatnonzero(seq != BOS_ID)
        logp = np.zeros(pos.size)
        matched = np.zeros(pos.size, np.int64)
        with np.errstate(divide="ignore"):
            for k in range(n, 0, -1):
                r = rows[k - 1][pos]
                take = (matched == 0) & (r >= 0)
                logp[take] = np.log(self.prob[k - 1][r[take]])
                matched[take] = k
            for j in range(1, n):
                h = rows[j - 1][pos - 1]
                use = (matched <= j) & (h >= 0)
                logp[use] += np.log(self.backoff[j - 1][h[use]])
        return logp

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """The full next-token distribution: unigrams, then each longer known context overrides its extensions."""
        tables, size = self.counts.tables, len(self.vocab)
        dist = self.prob[0].copy()
        for j, row in enumerate(_history_rows(tables, history, self.order), start=1):
            ext = _extensions(tables, j + 1, row, size)
            dist *= self.backoff[j - 1][row]
            dist[_words(tables[j], size)[ext]] = self.prob[j][ext]
        return dist


@dataclass
class CountLM(NgramLM):
    """MLE (`k == 0`) or add-k (Lidstone; Laplace when k = 1) on the last N-1 tokens since `<s>`.

    add-k: p(w | c) = (C(c w) + k) / (C(c) + k |V|); an unseen context gives the uniform 1/|V|.
    MLE: p(w | c) = C(c w) / C(c); unseen n-grams, unseen contexts and `<unk>` get probability 0.
    """

    k: float = 0.0
    context_totals: list[np.ndarray] = field(default_factory=list)  # [0]: all tokens; [j]: per order-j row

    def _probability(self, num: np.ndarray, den: np.ndarray) -> np.ndarray:
        if self.k > 0:
            return (num + self.k) / (den + self.k * self.vocab_size)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)

    def token_logprobs(self, seq: np.ndarray) -> np.ndarray:
        """Natural-log probabilities; -inf where MLE gives probability 0."""
        tables, n = self.counts.tables, self.order
        rows = lookup_rows(tables, seq)
        pos = np.flatnonzero(seq != BOS_ID)
        starts = np.maximum.accumulate(np.where(seq == BOS_ID, np.arange(seq.size), 0))
        used = np.minimum(n, pos - starts[pos] + 1)  # the n-gram reaches back at most to <s>
        num = np.zeros(pos.size)
        den = np.zeros(pos.size)
        for k in range(1, n + 1):
            sel = used == k
            r = rows[k - 1][pos[sel]]
            num[sel] = np.where(r >= 0, tables[k - 1].counts[np.maximum(r, 0)], 0)
            if k == 1:
                den[sel] = self.context_totals[0][0]
            else:
                h = rows[k - 2][pos[sel] - 1]
                den[sel] = np.where(h >= 0, self.context_totals[k - 1][np.maximum(h, 0)], 0)
        with np.errstate(divide="ignore"):
            return np.log(self._probability(num, den))

    def next_distribution(self, history: Sequence[int]) -> np.ndarray:
        """Next-token distribution given the last N-1 tokens of `history` (MLE: error on an unseen context)."""
        tables, size = self.counts.tables, len(self.vocab)
        hist = list(history)
        if BOS_ID in hist:
            hist = hist[len(hist) - 1 - hist[::-1].index(BOS_ID) :]
        width = min(self.order - 1, len(hist))
        num = np.zeros(size)
        if width == 0:
            num[:] = tables[0].counts
            den = float(self.context_totals[0][0])
        else:
            rows = _history_rows(tables, hist, width + 1)
            if len(rows) < width:
                den = 0.0
            else:
                ext = _extensions(tables, width + 1, rows[-1], size)
                num[_words(tables[width], size)[ext]] = tables[width].counts[ext]
                den = float(self.context_totals[width][rows[-1]])
        if self.k == 0 and den == 0:
            raise ValueError("MLE cannot continue: the context was never seen in training")
        dist = self._probability(num, np.full(size, den))
        dist[BOS_ID] = 0.0
        return dist


def count_lm(counts: NgramCounts, k: float = 0.0) -> CountLM:
    """An MLE (k = 0) or add-k model from counts.

    >>> from reference_lm.lm_counts import count_ngrams
    >>> m = count_lm(count_ngrams(["a b", "a"], order=2), k=1.0)
    >>> round(float(np.exp(m.token_logprobs(np.array([1, 3, 4, 2]))).prod()), 6)  # (2+1)/(2+4)*(1+1)/(2+4)*(1+1)/(1+4)
    0.066667
    """
    if k < 0:
        raise ValueError(f"k={k}: must be positive for add-k (0 means MLE)")
    tables = counts.tables
    size = len(counts.vocab)
    totals = [np.array([tables[0].counts.sum() - tables[0].counts[BOS_ID]], np.float64)]
    for j in range(1, counts.order):
        ctx = tables[j].keys // size
        totals.append(np.bincount(ctx, weights=tables[j].counts, minlength=len(tables[j - 1])))
    return CountLM(counts, "addk" if k > 0 else "mle", k=k, context_totals=totals)


def _first_words(tables: list[NgramTable], size: int) -> list[np.ndarray]:
    firsts = [np.arange(size)]
    for t in tables[1:]:
        firsts.append(firsts[-1][t.keys // size])
    return firsts


def _flush_chain(counts: NgramCounts, firsts: list[np.ndarray]) -> list[int]:
    """Rows (orders 1..N-1) of the suffixes of the last N-gram in lmplz's suffix order.

    lmplz's adjust_counts adds these last lower-order entries to the count-of-counts with their raw
    count instead of the adjusted one; matching its discounts exactly means doing the same.
    """
    tables, rank = counts.tables, counts.first_rank
    chain = [int(np.argmax(rank))]  # the word lmplz saw last has the highest id
    for k in range(2, counts.order):
        cand = np.flatnonzero(tables[k - 1].suffix == chain[-1])  # type: ignore[operator]
        if cand.size == 0:  # the previous entry starts with <s>
            break
        chain.append(int(cand[np.argmax(rank[firsts[k - 1][cand]])]))
    return chain


def kneser_ney(counts: NgramCounts, fallback: Sequence[float] = KENLM_FALLBACK) -> KneserNeyLM:
    """Interpolated modified Kneser-Ney exactly as `lmplz` estimates it (adjusted counts, 3 discounts per order)."""
    tables, n, size = counts.tables, counts.order, len(counts.vocab)
    firsts = _first_words(tables, size)
    adjusted = []
    for k in range(1, n + 1):
        raw = tables[k - 1].counts
        a = raw.copy() if k == n else np.bincount(tables[k].suffix, minlength=raw.size).astype(np.int64)  # type: ignore[arg-type]
        if k > 1:
            bos = firsts[k - 1] == BOS_ID  # nothing precedes <s>: these keep their raw counts
            a[bos] = raw[bos]
        else:
            a[[UNK_ID, BOS_ID]] = 0
        adjusted.append(a)
    model = KneserNeyLM(counts, "mkn")
    flush = _flush_chain(counts, firsts) if n > 1 else []
    for k, a in enumerate(adjusted, start=1):
        stats = a.copy()
        if k <= len(flush):
            stats[flush[k - 1]] = tables[k - 1].counts[flush[k - 1]]
        discounts, why = kenlm_discounts([np.count_nonzero(stats == j) for j in (1, 2, 3, 4)], fallback)
        model.discounts.append(discounts)
        if why:
            model.fallback[k] = why
        dvec = np.array([0.0, *discounts])[np.minimum(a, 3)]
        if k == 1:
            den = float(a.sum())
            gamma0 = dvec.sum() / den
            p = (a - dvec) / den + gamma0 / (size - 1)  # uniform over everything but <s>
            p[BOS_ID] = 0.0
        else:
            ctx = tables[k - 1].keys // size
            den_ctx = np.bincount(ctx, weights=a, minlength=len(tables[k - 2]))
            is_ctx = den_ctx > 0
            safe = np.where(is_ctx, den_ctx, 1.0)
            gamma = np.where(is_ctx, np.bincount(ctx, weights=dvec, minlength=den_ctx.size) / safe, 1.0)
            p = (a - dvec) / safe[ctx] + gamma[ctx] * model.prob[k - 2][tables[k - 1].suffix]
            model.backoff.append(gamma)
        model.prob.append(p)
    return model


def estimate(counts: NgramCounts, config: NgramLMConfig) -> NgramLM:
    """The model the config asks for, estimated from counts of at least its order."""
    if counts.order != config.order:
        raise ValueError(f"counts are of order {counts.order}, the config asks for order {config.order}")
    if config.smoothing == "mkn":
        return kneser_ney(counts, config.discount_fallback)
    return count_lm(counts, config.k if config.smoothing == "addk" else 0.0)
