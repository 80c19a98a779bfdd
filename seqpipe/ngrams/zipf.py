"""Zipf's law: fit the exponent of frequency against rank, and draw the book's log-log plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def frequencies_from_count_of_counts(count_of_counts: dict[int, int]) -> np.ndarray:
    """The rank-ordered frequency list (descending) that a count-of-counts table describes.

    >>> frequencies_from_count_of_counts({1: 2, 5: 1}).tolist()
    [5, 1, 1]
    """
    if not count_of_counts:
        return np.empty(0, dtype=np.int64)
    values = np.array(sorted(count_of_counts, reverse=True), dtype=np.int64)
    return np.repeat(values, [count_of_counts[v] for v in values.tolist()])


def fit_zipf(freqs: np.ndarray, first_rank: int = 1, last_rank: int | None = None) -> float | None:
    """Zipf exponent alpha of `freq ∝ rank^-alpha`, least squares on log-log over [first, last] ranks.

    >>> round(fit_zipf(1000 / np.arange(1, 101) ** 1.2), 6)
    1.2
    """
    last = len(freqs) if last_rank is None else min(last_rank, len(freqs))
    if last - first_rank + 1 < 2:
        return None
    x = np.log(np.arange(first_rank, last + 1, dtype=np.float64))
    y = np.log(np.asarray(freqs[first_rank - 1 : last], dtype=np.float64))
    x -= x.mean()
    # the OLS slope in closed form: polyfit builds a Vandermonde matrix, 10x slower on millions of ranks
    return float(-np.dot(x, y - y.mean()) / np.dot(x, x))


def plot_zipf(freqs_by_order: dict[int, np.ndarray], path: str | Path, title: str) -> None:
    """Frequency against rank on log-log axes, one line per order (orders 1-3 as in the book)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # fixed margins, not tight_layout(): measuring the tick labels took 0.39 s of a 3.2 s refresh (issue 13)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110, gridspec_kw={"left": 0.13, "right": 0.97, "bottom": 0.12,
                                                                 "top": 0.92})
    for n, freqs in sorted(freqs_by_order.items()):
        if len(freqs) == 0:
            continue
        # log-spaced ranks: millions of points add nothing to a log-log line
        idx = np.unique(np.geomspace(1, len(freqs), num=min(len(freqs), 600)).astype(np.int64)) - 1
        ax.loglog(idx + 1, freqs[idx], label={1: "unigram", 2: "bigram", 3: "trigram"}.get(n, f"{n}-gram"))
    ax.set_xlabel("token: x (rank)")
    ax.set_ylabel("frequency: n(x)")
    ax.set_title(title)
    ax.legend()
    fig.savefig(path)
    plt.close(fig)
