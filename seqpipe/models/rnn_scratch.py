"""The RNN language model written out, as d2l 2.0 teaches it (§8.5): one-hot input, tanh, five tensors.

    H_t = tanh(X_t W_xh + H_{t-1} W_hh + b_h)        O_t = H_t W_hq + b_q

Weights are drawn from N(0, sigma^2) with sigma = 0.01, biases start at zero. Inputs are (batch, steps)
token ids; outputs are time-major, flattened to (steps * batch, vocab) so they line up with the labels
`Y.T.reshape(-1)`. The state is one (batch, hidden) tensor.

Two rearrangements that change no number: the input term X_t W_xh of every step is computed in one
matmul before the recurrence (it does not depend on H), and the output layer is applied to all the
stacked hidden states at once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class RNNScratch(nn.Module):
    """A one-layer tanh RNN language model with its parameters spelled out.

    >>> net = RNNScratch(vocab_size=28, num_hiddens=512)
    >>> Y, state = net(torch.zeros((2, 5), dtype=torch.long), net.begin_state(2))
    >>> tuple(Y.shape), tuple(state.shape)
    ((10, 28), (2, 512))
    """

    state_batch_dim = 0  # the state is (batch, hidden)

    def __init__(self, vocab_size: int, num_hiddens: int, sigma: float = 0.01) -> None:
        super().__init__()
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.W_xh = nn.Parameter(torch.randn(vocab_size, num_hiddens) * sigma)
        self.W_hh = nn.Parameter(torch.randn(num_hiddens, num_hiddens) * sigma)
        self.b_h = nn.Parameter(torch.zeros(num_hiddens))
        self.W_hq = nn.Parameter(torch.randn(num_hiddens, vocab_size) * sigma)
        self.b_q = nn.Parameter(torch.zeros(vocab_size))

    def begin_state(self, batch_size: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The zero state, (batch, hidden)."""
        return torch.zeros(batch_size, self.num_hiddens, device=device or self.W_hh.device)

    def forward(self, X: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (steps * batch, vocab), time-major, and the state after the last step."""
        inputs = F.one_hot(X.T, self.vocab_size).to(self.W_xh.dtype)  # (steps, batch, vocab)
        input_terms = inputs @ self.W_xh  # (steps, batch, hidden)
        H, hiddens = state, []
        for x_term in input_terms:
            H = torch.tanh(x_term + H @ self.W_hh + self.b_h)
            hiddens.append(H)
        outputs = torch.stack(hiddens) @ self.W_hq + self.b_q  # (steps, batch, vocab)
        return outputs.reshape(-1, self.vocab_size), H
