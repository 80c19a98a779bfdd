"""Temperature calibration: one softmax temperature, fitted on validation data after training.

A language model trained for many epochs ends overconfident on text it has not seen: on tiny shakespeare
a 2 x 512 LSTM (16 epochs) scores the test range best with its logits divided by ~1.25 (1.405 -> 1.377
nats/char, read off the test). Fitted on the valid range instead (its first 1 %), as here, T = 1.15 took
the test from 1.412 to 1.387. Dividing the logits by T keeps the model's ranking and normalization, so
perplexity stays exact; T is fitted on validation windows (never the test), by Newton's method on
beta = 1/T, where the mean NLL, mean(-beta z_y + logsumexp(beta z)), is convex:

    d NLL / d beta = mean(E_p[z] - z_y),  d2 NLL / d beta2 = mean(Var_p[z])  (p = softmax(beta z))

>>> _ = torch.manual_seed(0); logits = 3 * torch.randn(20_000, 8)
>>> targets = torch.distributions.Categorical(logits=logits / 1.5).sample()
>>> round(fit_temperature(logits, targets), 1)
1.5

The logits of at most `MAX_VALUES` floats are kept (64 MB): every validation token of a character model,
`MAX_VALUES // vocab` tokens of a word model; with fewer than `MIN_TOKENS` the temperature stays 1.
Models with an adaptive softmax are not calibrated (their temperature would need the whole vocabulary's
log-probabilities of every token).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from seqpipe.eval.perplexity import PerplexityReport
from seqpipe.eval.windows import Progress, evaluate_windows
from seqpipe.train.token_source import TokenSource, sample_windows, window_tokens

MAX_VALUES = 16_000_000  # logits kept for the fit: tokens x vocab floats
MIN_BETA, MAX_BETA = 0.2, 5.0  # temperatures between 0.2 and 5
MIN_TOKENS = 100  # fewer validation tokens than this pin nothing down: the temperature stays 1
CHUNK_VALUES = 2_000_000  # logits per softmax (float64), to bound the fit's working memory at ~50 MB


@dataclass(frozen=True)
class Calibration:
    """The fitted temperature and the validation NLL before and after it, over the tokens it was fitted on;
    `report`: the evaluation of those windows by the calibrated model (what `evaluate_windows` now gives)."""

    temperature: float
    tokens: int
    nats_before: float
    report: PerplexityReport

    @property
    def nats_after(self) -> float:
        """Validation NLL per token under the fitted temperature."""
        return self.report.nats_per_token

    def to_dict(self) -> dict[str, float | int]:
        """Plain values for metrics.json."""
        return {"temperature": self.temperature, "tokens": self.tokens, "valid_nats_before": self.nats_before,
                "valid_nats_after": self.nats_after}


def calibratable(model: nn.Module) -> bool:
    """Whether the model has a temperature to set and a full softmax (logits) to fit it on."""
    return hasattr(model, "temperature") and getattr(model, "head", None) is None


def calibration_windows(n_valid: int, windows: list[tuple[int, int]], vocab_size: int) -> list[tuple[int, int]]:
    """The validation windows to fit on: `windows`, or a sample of the range whose logits fit `MAX_VALUES`."""
    most = max(MAX_VALUES // max(vocab_size, 1), 2)
    return windows if window_tokens(windows) <= most else sample_windows(n_valid, most)


def _rows(logits: torch.Tensor) -> int:
    return max(1, CHUNK_VALUES // max(logits.shape[-1], 1))


def mean_nll(logits: torch.Tensor, targets: torch.Tensor, beta: float) -> float:
    """Mean NLL of the targets under softmax(beta * logits)."""
    return calibrated_report(logits, targets, beta).nats_per_token


def calibrated_report(logits: torch.Tensor, targets: torch.Tensor, beta: float, unk_id: int = 0) -> PerplexityReport:
    """The evaluation of the targets under softmax(beta * logits): NLL, tokens, `<unk>` targets."""
    nll_sum = known_sum = 0.0
    rows = _rows(logits)
    for a in range(0, len(targets), rows):
        z, y = logits[a : a + rows].double() * beta, targets[a : a + rows]
        nll = torch.logsumexp(z, -1) - z.gather(1, y[:, None]).squeeze(1)
        nll_sum += float(nll.sum())
        known_sum += float(nll[y != unk_id].sum())
    return PerplexityReport(nll_sum, len(targets), int((targets == unk_id).sum()), known_sum)


def _derivatives(logits: torch.Tensor, targets: torch.Tensor, beta: float) -> tuple[float, float]:
    """First and second derivative of `mean_nll` in beta."""
    grad = curv = 0.0
    rows = _rows(logits)
    for a in range(0, len(targets), rows):
        z, y = logits[a : a + rows].double(), targets[a : a + rows]
        p = torch.softmax(beta * z, -1)
        mean = (p * z).sum(-1)
        grad += float((mean - z.gather(1, y[:, None]).squeeze(1)).sum())
        curv += float((p * z.square()).sum(-1).sub(mean.square()).sum())
    n = max(len(targets), 1)
    return grad / n, curv / n


def fit_temperature(logits: torch.Tensor, targets: torch.Tensor, steps: int = 30) -> float:
    """The temperature T minimizing the mean NLL of `targets` under softmax(logits / T), within 0.2..5
    (1 when the logits are not finite)."""
    beta, nll = 1.0, mean_nll(logits, targets, 1.0)
    if not math.isfinite(nll):
        return 1.0
    for _ in range(steps):
        grad, curv = _derivatives(logits, targets, beta)
        step = grad / curv if curv > 1e-12 else grad
        while True:  # Newton's step, halved until the NLL does not rise (it is convex: a few halvings at most)
            trial = min(max(beta - step, MIN_BETA), MAX_BETA)
            trial_nll = mean_nll(logits, targets, trial)
            if trial_nll <= nll or abs(step) < 1e-9:
                break
            step /= 2
        moved, beta, nll = abs(trial - beta), trial, min(trial_nll, nll)
        if moved < 1e-7:
            break
    return 1.0 / beta


def calibrate(
    model: nn.Module,
    source: TokenSource,
    windows: list[tuple[int, int]],
    batch_size: int = 16,
    num_steps: int = 64,
    device: torch.device | str | None = None,
    on_progress: Progress | None = None,
    unk_id: int = 0,
) -> Calibration:
    """Fit the model's temperature on validation windows and set it (`model.temperature`)."""
    if not calibratable(model):
        raise ValueError("temperature calibration needs a full-softmax model with a `temperature`")
    model.temperature = 1.0  # fit on the model's own logits
    kept: list[tuple[torch.Tensor, torch.Tensor]] = []
    before = evaluate_windows(model, source, windows, batch_size, num_steps, device, on_progress=on_progress,
                              unk_id=unk_id, on_logits=lambda z, y: kept.append((z.cpu(), y.cpu())))
    if before.n_tokens < MIN_TOKENS:
        return Calibration(1.0, before.n_tokens, before.nats_per_token, before)
    logits, targets = torch.cat([z for z, _ in kept]), torch.cat([y for _, y in kept])
    temperature = fit_temperature(logits, targets)
    model.temperature = temperature
    after = calibrated_report(logits, targets, 1.0 / temperature, unk_id)
    return Calibration(temperature, len(targets), before.nats_per_token, after)
