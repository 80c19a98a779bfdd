"""Autoregressive window models of d2l §8.1: x_t from x_{t-tau..t-1}.

`LinearAR` is d2l 1.0's `LinearRegression` (weights N(0, 0.01), bias 0); `MLP` is d2l 2.0's
Linear(tau, 10) -> ReLU -> Linear(10, 1) with Xavier-uniform weights and PyTorch's default biases.
Both forecast the book's way: each new column of the k-step table is the net applied to the tau
columns before it, so a forecast from origin o sees observations up to x[o] and its own outputs after.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqpipe.models.windows import history_windows


class ARWindowModel(nn.Module):
    """Base of the tau-lag models: `forward(features (B, tau)) -> (B, 1)` plus the book's rollout."""

    tau: int

    def rollout(self, windows: torch.Tensor, steps: int) -> torch.Tensor:
        """The book's k-step table for these rows: (N, tau + steps), first tau columns the windows.

        Column i >= tau is `self(table[:, i-tau:i])`: only the window and earlier outputs feed it.
        """
        n = windows.shape[0]
        table = torch.zeros(n, self.tau + steps, dtype=windows.dtype, device=windows.device)
        table[:, : self.tau] = windows
        for i in range(self.tau, self.tau + steps):
            table[:, i] = self(table[:, i - self.tau : i]).reshape(-1)
        return table

    @torch.no_grad()
    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Forecasts (len(origins), steps): entry [r, j] predicts x[origins[r] + j + 1] from x[..origin].

        >>> net = LinearAR(2)
        >>> with torch.no_grad():
        ...     _ = net.net.weight.copy_(torch.tensor([[0.0, 1.0]]))  # x_t = x_{t-1}: persistence
        >>> net.forecast(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1, 2]), 3).tolist()
        [[2.0, 2.0, 2.0], [3.0, 3.0, 3.0]]
        """
        self.eval()
        param = next(self.parameters())
        windows = torch.as_tensor(
            history_windows(x, origins, self.tau), dtype=param.dtype, device=param.device
        )
        return self.rollout(windows, steps)[:, self.tau :].cpu().numpy().astype(np.float64)


class LinearAR(ARWindowModel):
    """Linear AR(tau), d2l 1.0: one linear layer, weights N(0, 0.01^2), bias 0.

    >>> LinearAR(4)(torch.zeros(3, 4)).shape
    torch.Size([3, 1])
    """

    def __init__(self, tau: int) -> None:
        super().__init__()
        self.tau = tau
        self.net = nn.Linear(tau, 1)
        nn.init.normal_(self.net.weight, 0.0, 0.01)
        nn.init.zeros_(self.net.bias)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, tau) -> (B, 1)."""
        return self.net(features)


class MLP(ARWindowModel):
    """d2l 2.0's net: Linear(tau, hidden) -> ReLU -> Linear(hidden, 1), Xavier-uniform weights.

    >>> MLP(4).net[0].weight.shape, MLP(4).net[2].weight.shape
    (torch.Size([10, 4]), torch.Size([1, 10]))
    """

    def __init__(self, tau: int, hidden: int = 10) -> None:
        super().__init__()
        self.tau = tau
        self.net = nn.Sequential(nn.Linear(tau, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        # the book's init_weights: xavier_uniform_ on Linear weights, biases left at PyTorch's default
        for layer in self.net:
            if isinstance(layer, nn.Linear):
                nn.init.xavier_uniform_(layer.weight)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(B, tau) -> (B, 1)."""
        return self.net(features)


def window_training_data(x: np.ndarray, tau: int, n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n_train (features, label) pairs, labels as a column (n_train, 1) like the book's.

    >>> f, y = window_training_data(np.arange(10.0), 4, 3)
    >>> f.shape, y.ravel().tolist()
    ((3, 4), [4.0, 5.0, 6.0])
    """
    windows = history_windows(x, np.arange(tau - 1, tau - 1 + n_train), tau)
    labels = np.asarray(x)[tau : tau + n_train]
    return windows, labels.reshape(-1, 1)
