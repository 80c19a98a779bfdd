"""Output layers of a language model: the full softmax, or an adaptive softmax for large vocabularies.

The adaptive softmax (Grave et al. 2017, `torch.nn.AdaptiveLogSoftmaxWithLoss`) puts the most frequent
words in a head softmax and the rest in tail clusters reached through the head; its distribution is
still normalized over the whole vocabulary, so perplexities stay exact. It needs ids in frequency order
(id 0 `<unk>` and the specials may sit anywhere in the head); `adaptive_cutoffs` picks the cluster
boundaries from the training counts.

>>> adaptive_cutoffs([0] + [10**6 // (r + 1) for r in range(50_000)]), adaptive_cutoffs([5] * 50)
([2000, 10000], [40])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SoftmaxKind = Literal["auto", "full", "adaptive"]
ADAPTIVE_ABOVE = 10_000  # 'auto': adaptive for vocabularies larger than this
MAX_HEAD = 2000


def use_adaptive(kind: str, vocab_size: int) -> bool:
    """Whether `kind` ('auto', 'full', 'adaptive') means an adaptive softmax for this vocabulary size.

    >>> use_adaptive("auto", 5000), use_adaptive("auto", 20_000), use_adaptive("adaptive", 50)
    (False, True, True)
    """
    if kind not in ("auto", "full", "adaptive"):
        raise ValueError(f"softmax {kind!r}: choose auto, full or adaptive")
    return kind == "adaptive" or (kind == "auto" and vocab_size > ADAPTIVE_ABOVE)


def adaptive_cutoffs(counts: Sequence[int] | np.ndarray, vocab_size: int | None = None) -> list[int]:
    """Cluster boundaries for ids in frequency order, from the training counts.

    The head holds the words covering 80 % of the training tokens, at most 2,000 (the head's softmax is
    computed for every token, so it sets the speed); each tail cluster is 5x the previous one, at most
    three of them, all strictly inside (0, vocab_size).
    """
    c = np.asarray(counts, dtype=np.float64)
    n = int(vocab_size if vocab_size is not None else len(c))
    if n < 4:
        raise ValueError(f"an adaptive softmax needs at least 4 classes, the vocabulary has {n}")
    total = float(c[:n].sum())
    head = int(np.searchsorted(np.cumsum(c[:n]) / total, 0.80) + 1) if total > 0 else n // 2
    head = _round(min(max(head, min(64, n // 2)), MAX_HEAD))
    cuts: list[int] = []
    while head < n - 1 and len(cuts) < 3:
        cuts.append(head)
        head *= 5
    return cuts or [max(1, n // 2)]


def _round(r: int) -> int:
    """Round a cutoff to two significant digits (`2143` -> `2100`) so configs read well."""
    if r < 100:
        return r
    scale = 10 ** (len(str(r)) - 2)
    return int(round(r / scale) * scale)


class AdaptiveHead(nn.Module):
    """Hidden states in, log-probabilities (all words) or target NLL out, via an adaptive softmax."""

    def __init__(self, num_hiddens: int, vocab_size: int, cutoffs: Sequence[int], div_value: float = 4.0):
        super().__init__()
        self.asm = nn.AdaptiveLogSoftmaxWithLoss(num_hiddens, vocab_size, list(cutoffs), div_value=div_value)

    def log_prob(self, hidden: torch.Tensor) -> torch.Tensor:
        """Log-probabilities over the whole vocabulary, (tokens, vocab), normalized."""
        with _float32(hidden):
            return self.asm.log_prob(hidden.float())

    def nll(self, hidden: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of each target, (tokens,), exactly -log_prob(hidden)[target]."""
        with _float32(hidden):
            return -self.asm(hidden.float(), target).output


def _float32(hidden: torch.Tensor) -> torch.autocast:
    """Autocast off: the adaptive softmax mixes its clusters' outputs in place, which needs one dtype."""
    return torch.autocast(hidden.device.type, enabled=False)


def lm_nll(model: nn.Module, X: torch.Tensor, state, Y: torch.Tensor) -> tuple[torch.Tensor, object]:
    """Per-token NLL (time-major, like the logits) and the new state, for any of the LMs here."""
    target = Y.T.reshape(-1)
    if getattr(model, "head", None) is not None:
        return model.nll(X, state, target)
    logits, state = model(X, state)
    return F.cross_entropy(logits.float(), target, reduction="none"), state


def lm_loss(model: nn.Module, X: torch.Tensor, state, Y: torch.Tensor) -> tuple[torch.Tensor, object]:
    """Mean cross-entropy of a minibatch and the new state (the full softmax path is d2l's)."""
    if getattr(model, "head", None) is not None:
        nll, state = lm_nll(model, X, state, Y)
        return nll.mean(), state
    logits, state = model(X, state)
    return F.cross_entropy(logits, Y.T.reshape(-1)), state
