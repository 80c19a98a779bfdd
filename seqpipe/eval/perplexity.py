"""Perplexity: exp(total negative log-likelihood / number of predicted tokens), natural log.

Accumulated over tokens, never averaged over batches (d2l 2.0's `exp(sum l*n / sum n)`, not 1.0's
plotted mean of per-batch perplexities). `evaluate_lm` predicts every token of a range after the
first exactly once, carrying the state along each row. Targets that are `<unk>` (id 0) are counted
as OOV; the report gives perplexity with and without them, like KenLM's `query`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn

from seqpipe.batching import as_ids, eval_batches
from seqpipe.models.rnn_lm import state_rows
from seqpipe.models.softmax import lm_nll


def perplexity(nll_sum: float, n_tokens: int) -> float:
    """exp(total NLL / predicted tokens); NaN when nothing was predicted.

    >>> round(perplexity(10 * math.log(28), 10), 6)
    28.0
    """
    return math.exp(nll_sum / n_tokens) if n_tokens > 0 else float("nan")


@dataclass(frozen=True)
class PerplexityReport:
    """Totals of one evaluation: NLL in nats, predicted tokens, and how many targets were `<unk>`.

    >>> r = PerplexityReport(nll_sum=2 * math.log(4), n_tokens=2, n_oov=1, nll_sum_known=math.log(4))
    >>> round(r.ppl, 6), round(r.ppl_known, 6)
    (4.0, 4.0)
    """

    nll_sum: float
    n_tokens: int
    n_oov: int = 0
    nll_sum_known: float = 0.0

    @property
    def ppl(self) -> float:
        """Perplexity over all predicted tokens (OOV targets included)."""
        return perplexity(self.nll_sum, self.n_tokens)

    @property
    def nats_per_token(self) -> float:
        """Mean cross-entropy (the validation loss nanoGPT prints)."""
        return self.nll_sum / self.n_tokens if self.n_tokens else float("nan")

    @property
    def ppl_known(self) -> float:
        """Perplexity over targets that are in the vocabulary."""
        return perplexity(self.nll_sum_known, self.n_tokens - self.n_oov)

    def to_dict(self) -> dict[str, float | int]:
        """Totals plus the derived figures, for metrics.json."""
        return {
            **asdict(self),
            "ppl": self.ppl,
            "nats_per_token": self.nats_per_token,
            "ppl_known": self.ppl_known,
        }


class Totals:
    """The running sums of one evaluation (NLL, NLL of known targets, OOV targets), kept on the device so
    that adding a batch never waits for it."""

    def __init__(self, device: torch.device | str) -> None:
        self.sums = torch.zeros(3, dtype=torch.float64, device=device)

    @torch.no_grad()
    def add(self, nll: torch.Tensor, target: torch.Tensor, unk_id: int = 0) -> None:
        """Add per-token NLLs and their targets (same order; `unk_id` targets count as OOV)."""
        nll, known = nll.float().reshape(-1), target.reshape(-1) != unk_id
        self.sums += torch.stack([nll.sum(dtype=torch.float64), nll[known].sum(dtype=torch.float64),
                                  (~known).sum().to(torch.float64)])

    def report(self, n_tokens: int) -> PerplexityReport:
        """The totals as a report over `n_tokens` predicted tokens."""
        nll_sum, nll_known, n_oov = (float(v) for v in self.sums.cpu())
        return PerplexityReport(nll_sum, n_tokens, int(n_oov), nll_known)


@torch.no_grad()
def evaluate_lm(
    model: nn.Module,
    ids: Sequence[int] | np.ndarray | torch.Tensor,
    batch_size: int = 16,
    num_steps: int = 64,
    device: torch.device | str | None = None,
    unk_id: int = 0,
) -> PerplexityReport:
    """Token-weighted NLL of a language model on a contiguous range of token ids (eval mode, no grad)."""
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    nll_sum = nll_known = 0.0
    n_tokens = n_oov = 0
    state = None
    try:
        for x, y, tail in eval_batches(as_ids(ids), batch_size, num_steps):
            x, y = x.to(device), y.to(device)
            if state is None:
                state = model.begin_state(x.shape[0], device)
            elif tail:
                rows = (state[0] if isinstance(state, tuple) else state).shape[model.state_batch_dim]
                state = state_rows(state, model.state_batch_dim, slice(rows - 1, rows))
            nll, state = lm_nll(model, x, state, y)  # float32 even on CUDA: perplexities stay exact
            target = y.T.reshape(-1)
            nll = nll.float()
            known = target != unk_id
            nll_sum += float(nll.sum(dtype=torch.float64))
            nll_known += float(nll[known].sum(dtype=torch.float64))
            n_tokens += target.numel()
            n_oov += int((~known).sum())
    finally:
        model.train(was_training)
    return PerplexityReport(nll_sum, n_tokens, n_oov, nll_known)


def unigram_perplexity(
    train_ids: Sequence[int] | np.ndarray | torch.Tensor,
    eval_ids: Sequence[int] | np.ndarray | torch.Tensor,
    vocab_size: int,
    add_k: float = 1.0,
) -> float:
    """Perplexity of the add-k unigram model of the training ids on the eval ids' predicted tokens.

    The baseline every context-using model must beat; the eval range's first token has no
    prediction, as in `evaluate_lm`.

    >>> round(unigram_perplexity([1, 2], [0, 1, 2], vocab_size=3), 6)  # add-one: p(1) = p(2) = 2/5
    2.5
    """
    counts = np.bincount(np.asarray(as_ids(train_ids)), minlength=vocab_size).astype(np.float64) + add_k
    logp = np.log(counts / counts.sum())
    targets = np.asarray(as_ids(eval_ids))[1:]
    if len(targets) == 0:
        return float("nan")
    return perplexity(float(-logp[targets].sum()), len(targets))
