"""lmplz's discounts: D1, D2, D3+ from count-of-counts in float32 arithmetic, with its fallback."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from seqpipe.ngram_lm.config import KENLM_FALLBACK


def kenlm_discounts(n: Sequence[int], fallback: Sequence[float] = KENLM_FALLBACK) -> tuple[tuple[float, float, float], str | None]:
    """D1, D2, D3+ from count-of-counts n1..n4 in lmplz's float32 arithmetic, or the fallback and why.

    >>> [round(d, 4) for d in kenlm_discounts([100, 40, 20, 10])[0]]
    [0.5556, 1.1667, 1.8889]
    >>> kenlm_discounts([5, 0, 1, 1])
    ((0.5, 1.0, 1.5), 'no n-grams with adjusted count 2')
    """
    n1, n2, n3, n4 = (int(x) for x in n)
    for j, nj in ((1, n1), (2, n2), (3, n3)):
        if nj == 0:
            return tuple(float(d) for d in fallback), f"no n-grams with adjusted count {j}"  # type: ignore[return-value]
    f = np.float32
    y = f(n1) / f(float(n1) + 2.0 * n2)
    out = []
    for j, (nj, nk) in enumerate(((n1, n2), (n2, n3), (n3, n4)), start=1):
        d = f(j) - f(j + 1) * y * f(nk) / f(nj)
        if not 0.0 <= d <= j:
            return tuple(float(x) for x in fallback), f"discount D{j}={float(d):.4g} out of [0, {j}]"  # type: ignore[return-value]
        out.append(float(d))
    return (out[0], out[1], out[2]), None
