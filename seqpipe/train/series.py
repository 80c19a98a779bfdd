"""Build and fit the forecasting models: d2l 2.0 §8.1's `train` loop, shared by every model kind.

The loop is the book's: shuffled minibatches, squared error summed over the minibatch before
`backward()` (Adam; with SGD the mean, as d2l 1.0), and after each epoch `evaluate_loss` on the
training data, the mean squared error per predicted value. Seeds are local (a forked torch RNG and a
private generator), so a run never disturbs the caller's random state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from seqpipe.models.ar_mlp import MLP, LinearAR, window_training_data
from seqpipe.models.ar_rnn import LatentAR, sequence_training_data
from seqpipe.train.forecast_config import TrainConfig

EpochCallback = Callable[[int, float], None]


@dataclass
class Fitted:
    """A trained model with its per-epoch training losses (model units) and the history it reads."""

    name: str
    net: nn.Module
    epoch_losses: list[float]
    history: int

    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Delegate to the model's no-peeking forecast."""
        return self.net.forecast(x, origins, steps)  # type: ignore[operator]

    def n_parameters(self) -> int:
        """Trainable parameter count."""
        return sum(p.numel() for p in self.net.parameters() if p.requires_grad)


def build_model(name: str, tau: int, cfg: TrainConfig, history: int, seed: int) -> nn.Module:
    """A freshly initialised model, its initial weights a function of `seed` only.

    >>> a, b = build_model("mlp", 4, TrainConfig(), 4, 7), build_model("mlp", 4, TrainConfig(), 4, 7)
    >>> bool(torch.equal(a.net[0].weight, b.net[0].weight))
    True
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        if name == "linear":
            return LinearAR(tau)
        if name == "mlp":
            return MLP(tau, cfg.hidden)
        if name in ("rnn", "gru"):
            return LatentAR(name, cfg.rnn_hidden, history)  # type: ignore[arg-type]
    raise ValueError(f"unknown model {name!r}; choose linear, mlp, rnn or gru")


def fit(
    net: nn.Module,
    inputs: np.ndarray,
    targets: np.ndarray,
    cfg: TrainConfig,
    seed: int,
    device: torch.device | str = "cpu",
    on_epoch: EpochCallback | None = None,
) -> list[float]:
    """Train `net` so that net(inputs) ~ targets; return the training MSE after each epoch."""
    net.to(device)
    X = torch.as_tensor(inputs, dtype=torch.float32, device=device)
    Y = torch.as_tensor(targets, dtype=torch.float32, device=device)
    if not (torch.isfinite(X).all() and torch.isfinite(Y).all()):
        raise ValueError("training data holds NaN or inf")  # sources clean the series; this guards it
    gen = torch.Generator().manual_seed(seed)
    if cfg.optimizer == "adam":
        optimizer: torch.optim.Optimizer = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    else:
        optimizer = torch.optim.SGD(net.parameters(), lr=cfg.lr)
    losses = []
    for epoch in range(cfg.epochs):
        net.train()
        order = torch.randperm(len(X), generator=gen).to(device)
        for start in range(0, len(X), cfg.batch_size):
            batch = order[start : start + cfg.batch_size]
            optimizer.zero_grad()
            squared = (net(X[batch]) - Y[batch]) ** 2
            (squared.sum() if cfg.optimizer == "adam" else squared.mean()).backward()
            optimizer.step()
        losses.append(evaluate_loss(net, X, Y))
        if on_epoch is not None:
            on_epoch(epoch + 1, losses[-1])
    return losses


@torch.no_grad()
def evaluate_loss(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> float:
    """The book's `evaluate_loss`: squared error summed over all values, divided by their number."""
    net.eval()
    return float(((net(inputs) - targets) ** 2).sum() / targets.numel())


def train_model(
    name: str,
    z: np.ndarray,
    tau: int,
    n_train: int,
    cfg: TrainConfig,
    seed: int,
    device: torch.device | str = "cpu",
    on_epoch: EpochCallback | None = None,
) -> Fitted:
    """Build `name` and fit it on the training range of the (scaled) series z; nothing after it is read.

    >>> from seqpipe.series.sources import sine_series
    >>> fitted = train_model("linear", sine_series().values, 4, 600, TrainConfig(epochs=1), 0)
    >>> len(fitted.epoch_losses), fitted.n_parameters()
    (1, 5)
    """
    train_end = n_train + tau
    visible = np.asarray(z)[:train_end]  # the only part of the series training may look at
    if name in ("rnn", "gru"):
        history = min(cfg.rnn_history, train_end - 1)
        inputs, targets = sequence_training_data(visible, train_end, history)
    else:
        history = tau
        inputs, targets = window_training_data(visible, tau, n_train)
    net = build_model(name, tau, cfg, history, seed)
    losses = fit(net, inputs, targets, cfg, seed, device, on_epoch)
    return Fitted(name=name, net=net, epoch_losses=losses, history=history)
