"""The latent autoregressive model the book describes (d2l §8.1.1) but does not build.

A summary h_t of the past is updated by h_t = g(h_{t-1}, x_{t-1}) (a tanh RNN or a GRU cell) and the
prediction is x_hat_t = W h_t + b. Unlike the tau-lag models, the state carries information from as far
back as `history` observations, and a multi-step forecast keeps updating the same state with its own
predictions instead of re-reading a window.

Training and forecasting see the same thing: at most `history` observations read from a zero state.
A forecast from origin o reads x[max(0, o-history+1) .. o], then feeds its predictions back; it never
touches x[o+1:].
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import nn

from seqpipe.models.windows import history_windows

CellType = Literal["rnn", "gru"]


class LatentAR(nn.Module):
    """Latent-state forecaster: `forward(inputs (B, L)) -> (B, L)`, entry j predicts the value after input j.

    >>> net = LatentAR("gru", hidden=8, history=16)
    >>> net(torch.zeros(2, 5)).shape
    torch.Size([2, 5])
    """

    def __init__(self, cell: CellType = "gru", hidden: int = 16, history: int = 32) -> None:
        super().__init__()
        if history < 1:
            raise ValueError(f"history={history}: the model must read at least one observation")
        self.cell_type = cell
        self.history = history
        rnn_class = {"rnn": nn.RNN, "gru": nn.GRU}[cell]
        self.rnn = rnn_class(input_size=1, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, inputs: torch.Tensor, state: torch.Tensor | None = None) -> torch.Tensor:
        """Teacher-forced one-step predictions for every position of every row."""
        outputs, _ = self.rnn(inputs.unsqueeze(-1), state)
        return self.head(outputs).squeeze(-1)

    def _states_after(self, x: torch.Tensor, origins: np.ndarray) -> torch.Tensor:
        """State (1, N, hidden) after reading x[max(0, o-history+1) .. o] from zero, for each origin."""
        hidden = self.rnn.hidden_size
        states = torch.zeros(1, len(origins), hidden, dtype=x.dtype, device=x.device)
        full = origins >= self.history - 1
        if full.any():
            windows = torch.as_tensor(
                history_windows(x.cpu().numpy(), origins[full], self.history), dtype=x.dtype, device=x.device
            )
            _, last = self.rnn(windows.unsqueeze(-1))
            states[:, torch.as_tensor(np.flatnonzero(full), device=x.device)] = last
        if (~full).any():
            # an origin before `history` reads the whole prefix x[0..o]: one pass gives every such state
            prefix_outputs, _ = self.rnn(x[: self.history - 1].reshape(1, -1, 1))
            short = origins[~full]
            states[0, torch.as_tensor(np.flatnonzero(~full), device=x.device)] = prefix_outputs[
                0, torch.as_tensor(short, device=x.device)
            ]
        return states

    @torch.no_grad()
    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Forecasts (len(origins), steps): entry [r, j] predicts x[origins[r] + j + 1] from x[..origin].

        >>> net = LatentAR("rnn", hidden=4, history=3)
        >>> net.forecast(np.arange(10.0), np.array([0, 5, 9]), 4).shape
        (3, 4)
        """
        self.eval()
        origins = np.asarray(origins, dtype=np.int64)
        if len(origins) and (origins.min() < 0 or origins.max() >= len(x)):
            raise ValueError(f"origins must lie in [0, {len(x) - 1}]")
        param = next(self.parameters())
        series = torch.as_tensor(np.asarray(x), dtype=param.dtype, device=param.device)
        state = self._states_after(series, origins)
        out = torch.zeros(len(origins), steps, dtype=param.dtype, device=param.device)
        for j in range(steps):
            prediction = self.head(state[0])  # (N, 1): x_hat for origin + j + 1
            out[:, j] = prediction[:, 0]
            if j + 1 < steps:
                # the model's own prediction is the next input: no observation after the origin is used
                _, state = self.rnn(prediction.unsqueeze(1), state)
        return out.cpu().numpy().astype(np.float64)


def sequence_training_data(x: np.ndarray, train_end: int, history: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of history+1 training points: inputs w[:-1], targets w[1:] (teacher forcing).

    >>> inputs, targets = sequence_training_data(np.arange(6.0), 5, 3)
    >>> inputs.tolist(), targets.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]], [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])
    """
    n = train_end - history
    if n < 1:
        raise ValueError(f"training range of {train_end} points is too short for an rnn history of {history}")
    windows = history_windows(np.asarray(x)[:train_end], np.arange(history, train_end), history + 1)
    return windows[:, :-1], windows[:, 1:]
