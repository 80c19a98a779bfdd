"""Perplexity over windows of a token source, read a step at a time (memory independent of its size).

Each window `(a, b)` predicts tokens a+1 .. b-1 exactly once. The windows are cut into rows — contiguous
ranges, at least `batch_size` of them — that are read side by side, `num_steps` tokens a step, each row
carrying its state from its first token to its last, as `evaluate_lm` does over a whole range. A row
starts from the zero state only once: cutting a range into short independent pieces instead (16 rows of
~110 tokens each, which a budgeted 10-minute run on tiny shakespeare did) costs a character LSTM
0.07 nats/char (1.531 vs 1.457 on the same weights). The totals add up token-weighted, so the
perplexity of all windows is exp(total NLL / predicted tokens), as everywhere else.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqpipe.eval.perplexity import PerplexityReport, Totals, perplexity
from seqpipe.models.rnn_lm import state_rows
from seqpipe.models.softmax import lm_nll
from seqpipe.train.token_source import TokenSource, window_tokens

Progress = Callable[[int, int], None]  # (tokens done, tokens in all)
Logits = Callable[[torch.Tensor, torch.Tensor], None]  # (logits (tokens, vocab) float32, targets (tokens,))
READ_STEPS = 32  # steps of every row read at once


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


def stream_rows(windows: list[tuple[int, int]], rows: int) -> list[tuple[int, int]]:
    """The windows cut into contiguous rows (`rows` in all, or one per window when there are more windows),
    each overlapping the next by one token; the last row of a window takes the remainder; longest first.

    >>> stream_rows([(0, 11)], 3)
    [(6, 11), (0, 4), (3, 7)]
    >>> stream_rows([(0, 5), (10, 13)], 1)
    [(0, 5), (10, 13)]
    """
    per_window = max(1, rows // max(len(windows), 1))
    out: list[tuple[int, int]] = []
    for a, b in windows:
        predicted = b - a - 1
        if predicted <= 0:
            continue
        k = min(per_window, predicted)
        length = predicted // k
        out += [(a + r * length, a + (r + 1) * length + 1 if r < k - 1 else b) for r in range(k)]
    return sorted(out, key=lambda row: row[1] - row[0], reverse=True)


class Reporter:
    """Calls `on_progress(done, total)` about 64 times over an evaluation, and once at its end."""

    def __init__(self, on_progress: Progress | None, total: int) -> None:
        self.on_progress, self.total, self.every, self.last = on_progress, total, max(total // 64, 1), 0

    def __call__(self, done: int) -> None:
        """Report `done` when enough has been done since the last report."""
        if self.on_progress is not None and done - self.last >= self.every:
            self.on_progress(done, self.total)
            self.last = done

    def finish(self, done: int) -> None:
        """Report the end (if not reported already)."""
        if self.on_progress is not None and done != self.last:
            self.on_progress(done, self.total)


def evaluate_windows(
    model: nn.Module,
    source: TokenSource,
    windows: list[tuple[int, int]],
    batch_size: int = 16,
    num_steps: int = 64,
    device: torch.device | str | None = None,
    on_progress: Progress | None = None,
    deadline: float | None = None,
    unk_id: int = 0,
    on_logits: Logits | None = None,
) -> PerplexityReport:
    """Token-weighted NLL of the model on the windows of a source; `on_progress(done, total)` now and then.

    `on_logits(logits, targets)` receives every minibatch's logits (a full-softmax model only), time-major.

    With a `deadline` (a `time.perf_counter()` value) evaluation stops at the first step past it: the report
    then covers the first part of every row (a sample spread over the windows), fewer tokens than they hold.
    """
    rows = stream_rows(windows, batch_size)
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    totals, report = Totals(device), Reporter(on_progress, window_tokens(windows))
    done, stopped = 0, False
    try:
        with torch.no_grad():
            for g in range(0, len(rows), batch_size):
                group = rows[g : g + batch_size]  # longest first: the rows still running are a prefix
                starts = np.array([a for a, _ in group], np.int64)
                lengths = np.array([b - a - 1 for a, b in group], np.int64)
                state, held, at = model.begin_state(len(group), device), len(group), 0
                while at < lengths[0] and not stopped:
                    active = int((lengths > at).sum())
                    if active < held:  # rows that ended leave the state
                        state, held = state_rows(state, model.state_batch_dim, slice(0, active)), active
                    # a block of steps read at once, one contiguous read per row, up to the shortest row's end
                    span = int(min(num_steps * READ_STEPS, lengths[active - 1] - at))
                    block = np.stack([source.read(int(a) + at, int(a) + at + span + 1) for a in starts[:active]])
                    for k in range(0, span, num_steps):
                        ids = block[:, k : k + num_steps + 1]
                        x, y = torch.as_tensor(ids[:, :-1]).to(device), torch.as_tensor(ids[:, 1:]).to(device)
                        if on_logits is None:
                            nll, state = lm_nll(model, x, state, y)
                        else:
                            nll, state = _nll_showing_logits(model, x, state, y, on_logits)
                        totals.add(nll, y.T, unk_id)  # the NLL is time-major
                        at += y.shape[1]
                        done += y.numel()
                        report(done)
                        if deadline is not None and time.perf_counter() >= deadline:
                            stopped = True
                            break
                if hasattr(source, "release"):
                    source.release()
                if stopped:
                    break
    finally:
        model.train(was_training)
    report.finish(done)
    return totals.report(done)


def _nll_showing_logits(model: nn.Module, x: torch.Tensor, state, y: torch.Tensor, on_logits: Logits):
    """`lm_nll` of a full-softmax model that also hands its logits and targets to `on_logits`."""
    logits, state = model(x, state)
    logits, target = logits.float(), y.T.reshape(-1)
    on_logits(logits, target)
    return F.cross_entropy(logits, target, reduction="none"), state


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
