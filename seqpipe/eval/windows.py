"""Perplexity over windows of a token source, one bounded chunk at a time (memory independent of its size).

Each window `(a, b)` predicts tokens a+1 .. b-1 exactly once: it is read in chunks of at most `chunk`
tokens that overlap by one token, and each chunk is evaluated with `evaluate_lm` (its `batch_size` rows
start from the zero state, as a whole range does). The totals add up token-weighted, so the perplexity
of all windows is exp(total NLL / predicted tokens), as everywhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from seqpipe.eval.perplexity import PerplexityReport, evaluate_lm, perplexity
from seqpipe.train.token_source import TokenSource, window_tokens

Progress = Callable[[int, int], None]  # (tokens done, tokens in all)


def chunks(windows: list[tuple[int, int]], chunk: int) -> list[tuple[int, int]]:
    """Read ranges covering the windows, at most `chunk` + 1 long, overlapping by one token.

    >>> chunks([(0, 10)], 4)
    [(0, 5), (4, 9), (8, 10)]
    """
    out: list[tuple[int, int]] = []
    for a, b in windows:
        for s in range(a, b - 1, chunk):
            out.append((s, min(s + chunk + 1, b)))
    return out


def spread(items: list, parts: int = 64) -> list:
    """The items reordered so that every prefix is spread evenly over the list (bit-reversed strides).

    >>> spread(list(range(8)))
    [0, 4, 2, 6, 1, 5, 3, 7]
    """
    n = len(items)
    bits = max(1, (n - 1).bit_length())
    keys = [int(f"{i:0{bits}b}"[::-1], 2) for i in range(n)]
    return [items[i] for i in sorted(range(n), key=lambda i: keys[i])]


def evaluate_windows(
    model: nn.Module,
    source: TokenSource,
    windows: list[tuple[int, int]],
    batch_size: int = 16,
    num_steps: int = 64,
    device: torch.device | str | None = None,
    chunk: int = 1 << 16,
    on_progress: Progress | None = None,
    deadline: float | None = None,
) -> PerplexityReport:
    """Token-weighted NLL of the model on the windows of a source; `on_progress(done, total)` per chunk.

    With a `deadline` (a `time.perf_counter()` value) chunks are taken in an order spread over the range
    and evaluation stops at the deadline: the report then covers fewer tokens than the windows hold.
    """
    total = window_tokens(windows)
    nll = nll_known = 0.0
    n = n_oov = done = 0
    pieces = chunks(windows, chunk)
    for a, b in spread(pieces) if deadline is not None else pieces:
        if deadline is not None and time.perf_counter() >= deadline and n > 0:
            break
        r = evaluate_lm(model, source.read(a, b), batch_size, num_steps, device)
        nll, nll_known, n, n_oov = nll + r.nll_sum, nll_known + r.nll_sum_known, n + r.n_tokens, n_oov + r.n_oov
        done += b - a - 1
        if hasattr(source, "release"):
            source.release()
        if on_progress is not None:
            on_progress(done, total)
    return PerplexityReport(nll, n, n_oov, nll_known)


def unigram_windows(
    counts: np.ndarray, source: TokenSource, windows: list[tuple[int, int]], add_k: float = 1.0,
    chunk: int = 1 << 20,
) -> float:
    """Perplexity of the add-k unigram model of `counts` (training counts per id) on the windows."""
    c = np.asarray(counts, dtype=np.float64) + add_k
    logp = np.log(c / c.sum())
    nll, n = 0.0, 0
    for a, b in chunks(windows, chunk):
        targets = source.read(a, b)[1:]
        nll -= float(logp[targets].sum())
        n += len(targets)
    return perplexity(nll, n)
