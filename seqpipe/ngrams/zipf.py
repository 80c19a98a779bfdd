"""Zipf's law: fit the exponent of frequency against rank, and draw the book's log-log plot.

Both work from an order's count-of-counts ({count: how many n-grams have it}), never from the list of
every n-gram's frequency: ranks with equal counts form runs, and the least-squares sums over a run of
ranks have closed forms (sum of ln r is ln-gamma), so a fit costs the number of distinct counts, not the
49.5 M trigrams of a large corpus.
"""

from __future__ import annotations

import math
from functools import cache
from pathlib import Path

import numpy as np

EXACT_RANKS = 1 << 16  # sums of (ln r)^2 up to here are added up; beyond, Euler-Maclaurin (error < 1e-12)


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
    return float(-np.dot(x, y - y.mean()) / np.dot(x, x))


@cache
def _log_squared_table() -> np.ndarray:
    """t[n] = sum of (ln r)^2 for r = 1..n, n <= EXACT_RANKS."""
    logs = np.log(np.arange(1, EXACT_RANKS + 1, dtype=np.float64))
    return np.concatenate([[0.0], np.cumsum(logs * logs)])


def _sum_log_squared(n: int) -> float:
    """Sum of (ln r)^2 for r = 1..n."""
    if n <= EXACT_RANKS:
        return float(_log_squared_table()[max(n, 0)])
    a, b = float(EXACT_RANKS), float(n)

    def integral(x: float) -> float:
        return x * (math.log(x) ** 2 - 2 * math.log(x) + 2)

    def f1(x: float) -> float:
        return 2 * math.log(x) / x

    def f3(x: float) -> float:
        return (4 * math.log(x) - 6) / x**3

    # Euler-Maclaurin from a to b, counting f(a) once (it is in the table)
    tail = (integral(b) - integral(a) + (math.log(b) ** 2 - math.log(a) ** 2) / 2
            + (f1(b) - f1(a)) / 12 - (f3(b) - f3(a)) / 720)
    return float(_log_squared_table()[EXACT_RANKS]) + tail


def _sum_log(n: int) -> float:
    """Sum of ln r for r = 1..n (ln n!)."""
    return math.lgamma(n + 1) if n > 0 else 0.0


def zipf_alpha(count_of_counts: dict[int, int], first_rank: int = 1, last_rank: int | None = None) -> float | None:
    """`fit_zipf` of the frequencies a count-of-counts describes, without listing them.

    >>> round(zipf_alpha({8: 1, 4: 1, 2: 2, 1: 4}), 6) == round(fit_zipf(np.array([8, 4, 2, 2, 1, 1, 1, 1])), 6)
    True
    """
    values = sorted((v for v, m in count_of_counts.items() if m > 0), reverse=True)
    total = sum(count_of_counts[v] for v in values)
    last = total if last_rank is None else min(last_rank, total)
    n = last - first_rank + 1
    if n < 2:
        return None
    sum_y = sum_xy = 0.0
    end = 0
    for v in values:  # the run of ranks end+1 .. end+m has frequency v
        start, end = end + 1, end + count_of_counts[v]
        lo, hi = max(start, first_rank), min(end, last)
        if lo <= hi:
            y = math.log(v)
            sum_y += y * (hi - lo + 1)
            sum_xy += y * (_sum_log(hi) - _sum_log(lo - 1))
        if end >= last:
            break
    sum_x = _sum_log(last) - _sum_log(first_rank - 1)
    sum_xx = _sum_log_squared(last) - _sum_log_squared(first_rank - 1)
    return -(sum_xy - sum_x * sum_y / n) / (sum_xx - sum_x * sum_x / n)


def frequencies_at(count_of_counts: dict[int, int], ranks: np.ndarray) -> np.ndarray:
    """The frequency at each (1-based) rank.

    >>> frequencies_at({5: 1, 1: 2}, np.array([1, 2, 3])).tolist()
    [5, 1, 1]
    """
    values = np.array(sorted(count_of_counts, reverse=True), dtype=np.int64)
    ends = np.cumsum([count_of_counts[v] for v in values.tolist()])
    return values[np.searchsorted(ends, ranks, side="left")]


def warm_up() -> None:
    """Import matplotlib now (0.3 s), e.g. while workers merge, so that drawing later costs only the drawing."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def decade_label(value: float, _position: object = None) -> str:
    """A log axis's tick label as plain text: 10 with a superscript exponent for powers of ten.

    >>> decade_label(1000.0), decade_label(0.01), decade_label(20.0)
    ('10³', '10⁻²', '20')
    """
    if value > 0:
        exponent = round(math.log10(value))
        if math.isclose(value, 10.0**exponent):
            return f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return f"{value:g}"


def plot_zipf(count_of_counts_by_order: dict[int, dict[int, int]], path: str | Path, title: str) -> None:
    """Frequency against rank on log-log axes, one line per order (orders 1-3 as in the book)."""
    warm_up()
    import matplotlib.pyplot as plt

    # fixed margins, not tight_layout(): measuring the tick labels took 0.39 s of a 3.2 s refresh (issue 13)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=110, gridspec_kw={"left": 0.13, "right": 0.97, "bottom": 0.12,
                                                                 "top": 0.92})
    for n, coc in sorted(count_of_counts_by_order.items()):
        distinct = sum(coc.values())
        if distinct == 0:
            continue
        # log-spaced ranks: millions of points add nothing to a log-log line
        ranks = np.unique(np.geomspace(1, distinct, num=min(distinct, 600)).astype(np.int64))
        ax.loglog(ranks, frequencies_at(coc, ranks), label={1: "unigram", 2: "bigram", 3: "trigram"}.get(n, f"{n}-gram"))
    ax.set_xlabel("token: x (rank)")
    ax.set_ylabel("frequency: n(x)")
    # a fixed title position and no minor ticks: placing the title and drawing log minor ticks was 0.3 s
    # of the 0.4 s drawing, a tenth of a refresh (issue 13)
    ax.set_title(title, y=1.0)
    ax.minorticks_off()
    for axis in (ax.xaxis, ax.yaxis):  # plain-text labels: Matplotlib's own are mathtext, half the drawing's time
        axis.set_major_formatter(decade_label)
    ax.legend()
    fig.savefig(path)
    plt.close(fig)
