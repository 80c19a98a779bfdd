"""Recurrent language models over `nn.RNN` / `nn.GRU` / `nn.LSTM` (d2l 2.0 §8.6, §9.1-9.3).

Same interface as the scratch model: `forward(X (batch, steps), state) -> (logits (steps * batch, vocab),
state)`, time-major like the book's `RNNModel`, and `begin_state(batch_size)`. Input is one-hot (the book)
or a learned embedding; 1..N layers; dropout between layers and before the output layer: a fresh mask
every step or, with `variational`, one mask per sequence; optionally DropConnect on the hidden-to-hidden
weights (`weight_drop`), both as AWD-LSTM does (Merity et al. 2018). In training with dropout between
layers or a weight drop, the layers run one at a time with our cheaper masks (`seqpipe.models.dropout`);
evaluation runs the fused module.
The state is a (layers, batch, hidden) tensor, or an (h, c) pair of them for an LSTM. The logits are
divided by `temperature` (1 until a run fits it on validation data: `seqpipe.eval.calibration`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from seqpipe.models.dropout import fresh_dropout, locked_dropout, run_layers, single_layers
from seqpipe.models.rnn_scratch import RNNScratch
from seqpipe.models.softmax import AdaptiveHead

Cell = Literal["rnn", "gru", "lstm"]
State = torch.Tensor | tuple[torch.Tensor, ...]
LanguageModel = nn.Module  # RNNScratch or RNNLM: forward(X, state), begin_state(batch), state_batch_dim

_CELLS: dict[str, type[nn.RNNBase]] = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


class RNNLM(nn.Module):
    """Token ids in, next-token logits out, through a PyTorch recurrent layer.

    >>> net = RNNLM(vocab_size=28, cell="lstm", num_hiddens=16, num_layers=2, embedding_dim=8)
    >>> Y, (h, c) = net(torch.zeros((2, 5), dtype=torch.long), net.begin_state(2))
    >>> tuple(Y.shape), tuple(h.shape), tuple(c.shape)
    ((10, 28), (2, 2, 16), (2, 2, 16))
    """

    state_batch_dim = 1  # the state is (layers, batch, hidden)

    def __init__(
        self,
        vocab_size: int,
        cell: Cell = "lstm",
        num_hiddens: int = 256,
        num_layers: int = 1,
        embedding_dim: int = 0,
        dropout: float = 0.0,
        cutoffs: Sequence[int] | None = None,
        weight_drop: float = 0.0,
        variational: bool = False,
    ) -> None:
        super().__init__()
        if cell not in _CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of {', '.join(_CELLS)}")
        self.vocab_size, self.cell = vocab_size, cell
        self.num_hiddens, self.num_layers = num_hiddens, num_layers
        self.weight_drop, self.variational = weight_drop, variational
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if embedding_dim > 0 else None
        input_size = embedding_dim if embedding_dim > 0 else vocab_size
        # no inter-layer dropout inside the module: in training our masks go between its layers (`_recur`)
        self.rnn = _CELLS[cell](input_size, num_hiddens, num_layers)
        self.dropout = nn.Dropout(dropout)  # holds p (which dynamic evaluation zeroes); the masks are ours
        # shapes of single layers (meta device, not registered: no parameters) to run the layers one by one
        self._layers = single_layers(self.rnn)
        # full softmax (a linear layer to logits), or an adaptive softmax when `cutoffs` are given
        self.head = AdaptiveHead(num_hiddens, vocab_size, cutoffs) if cutoffs else None
        self.linear = None if cutoffs else nn.Linear(num_hiddens, vocab_size)
        # the logits are divided by it: 1 in training, then fitted on validation data (seqpipe.eval.calibration)
        self.temperature = 1.0

    def begin_state(self, batch_size: int, device: torch.device | str | None = None) -> State:
        """Zeros of shape (layers, batch, hidden); an (h, c) pair for an LSTM."""
        device = device or self.rnn.weight_hh_l0.device
        zeros = torch.zeros(self.num_layers, batch_size, self.num_hiddens, device=device)
        return (zeros, torch.zeros_like(zeros)) if self.cell == "lstm" else zeros

    def _outputs(self, X: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Recurrent outputs (steps * batch, hidden) after dropout, time-major, and the new state."""
        tokens = X.T  # (steps, batch)
        if self.embedding is not None:
            inputs = self.embedding(tokens)
        else:
            inputs = F.one_hot(tokens, self.vocab_size).to(self.rnn.weight_hh_l0.dtype)
        outputs, state = self._recur(inputs, state)  # (steps, batch, hidden)
        if self.training:
            outputs = (locked_dropout if self.variational else fresh_dropout)(outputs, self.dropout.p)
        return outputs.reshape(-1, self.num_hiddens), state

    def _recur(self, inputs: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The recurrent layer. In training with dropout between layers or a `weight_drop`, the layers run
        one by one: dropout between them (a locked mask with `variational`) and a fresh DropConnect mask
        on each hidden-to-hidden matrix per call (one mask for every step of the minibatch)."""
        between = self.dropout.p if self.num_layers > 1 else 0.0
        if not self.training or (between == 0 and self.weight_drop == 0):
            return self.rnn(inputs, state)
        return run_layers(self.rnn, self._layers, inputs, state, between, self.weight_drop, locked=self.variational)

    def forward(self, X: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Logits (steps * batch, vocab), time-major, and the state after the last step.

        With an adaptive head the "logits" are its normalized log-probabilities (softmax leaves them as is).
        """
        hidden, state = self._outputs(X, state)
        if self.head is not None:
            return self.head.log_prob(hidden.float()), state
        logits = self.linear(hidden)
        return (logits if self.temperature == 1.0 else logits / self.temperature), state

    def nll(self, X: torch.Tensor, state: State, target: torch.Tensor) -> tuple[torch.Tensor, State]:
        """Per-token NLL of time-major targets through the adaptive head (no full logits), and the state."""
        if self.head is None:
            raise ValueError("nll() is the adaptive-softmax path; a full-softmax model uses forward()")
        hidden, state = self._outputs(X, state)
        return self.head.nll(hidden.float(), target), state


def build_lm(
    kind: str,
    vocab_size: int,
    hidden: int = 256,
    layers: int = 1,
    embedding: int = 0,
    dropout: float = 0.0,
    cutoffs: Sequence[int] | None = None,
    weight_drop: float = 0.0,
    variational: bool = False,
) -> nn.Module:
    """A language model by name: 'scratch-rnn' (the book's written-out RNN), 'rnn', 'gru' or 'lstm'.

    >>> type(build_lm("scratch-rnn", 28, hidden=8)).__name__, build_lm("gru", 28, hidden=8).cell
    ('RNNScratch', 'gru')
    """
    if kind == "scratch-rnn":
        if layers != 1 or embedding or dropout or weight_drop or variational:
            raise ValueError("the scratch RNN has one layer, one-hot input and no dropout")
        if cutoffs:
            raise ValueError("the scratch RNN has a full softmax; use --softmax full")
        return RNNScratch(vocab_size, hidden)
    return RNNLM(vocab_size, kind, hidden, layers, embedding, dropout, cutoffs,  # type: ignore[arg-type]
                 weight_drop, variational)


def detach_state(state: State) -> State:
    """Cut the graph behind a state (truncated BPTT), keeping its values."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def state_rows(state: State, dim: int, rows: slice) -> State:
    """The rows `rows` of a state along its batch dimension `dim`."""
    if isinstance(state, torch.Tensor):
        return state.narrow(dim, rows.start, rows.stop - rows.start)
    return tuple(state_rows(s, dim, rows) for s in state)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable scalars.

    >>> count_parameters(build_lm("rnn", 28, hidden=256))
    80412
    """
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
