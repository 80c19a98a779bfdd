"""Dropout made for recurrent networks (AWD-LSTM: Merity et al. 2018), with cheap masks.

- `drop_connect`: DropConnect on a weight matrix (the hidden-to-hidden weights: one mask for every step).
- `locked_dropout`: variational dropout (Gal & Ghahramani 2016): one mask per row of a time-major batch,
  the same at every step, so a unit is dropped for the whole sequence rather than flickering step to step.
- `fresh_dropout`: ordinary dropout (a new mask for every element), from the same cheap masks.
- `run_layers`: a multi-layer `nn.RNN` / `nn.GRU` / `nn.LSTM` run one layer at a time with given weights,
  so that our masks (locked or fresh) sit between the layers instead of PyTorch's own inter-layer dropout.
  The module keeps its parameters; each layer runs through a single-layer copy on the `meta` device (no
  memory) with `torch.func.functional_call`, which keeps the fused recurrent kernel.

Masks come from uniform draws compared with the keep probability: on a CPU that is ~2.5x faster than
`F.dropout`'s Bernoulli draws (2 M elements: 8.5 ms vs 21 ms on two cores), and a locked mask draws one
value per row and unit instead of one per step, row and unit (128x fewer at 128 steps).

>>> x = torch.ones(5, 2, 3)
>>> y = locked_dropout(x, 0.5)
>>> bool((y == y[0]).all()), sorted(set(y.flatten().tolist())) in ([0.0, 2.0], [0.0], [2.0])
(True, True)
"""

from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call

State = torch.Tensor | tuple[torch.Tensor, ...]
_WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def keep_mask(shape: tuple[int, ...], p: float, like: torch.Tensor) -> torch.Tensor:
    """A dropout mask of `shape`: 0 with probability `p`, else 1/(1-p), in `like`'s dtype and device."""
    keep = 1.0 - p
    return (torch.rand(shape, device=like.device) < keep).to(like.dtype).div_(keep)


def drop_connect(weight: torch.Tensor, p: float) -> torch.Tensor:
    """`weight` with each entry dropped with probability `p` (the rest scaled by 1/(1-p))."""
    return weight * keep_mask(tuple(weight.shape), p, weight) if p > 0 else weight


def fresh_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout of every element independently (what `F.dropout` does in training, with cheaper draws)."""
    return x * keep_mask(tuple(x.shape), p, x) if p > 0 else x


def locked_dropout(x: torch.Tensor, p: float) -> torch.Tensor:
    """Dropout of a time-major (steps, batch, features) tensor with one mask per row for every step."""
    return x * keep_mask((1, *x.shape[1:]), p, x) if p > 0 else x


def _layer_state(state: State, k: int) -> State:
    if isinstance(state, torch.Tensor):
        return state[k:k + 1]
    return tuple(s[k:k + 1] for s in state)


def _stack_states(states: list[State]) -> State:
    if isinstance(states[0], torch.Tensor):
        return torch.cat(states, dim=0)  # type: ignore[arg-type]
    return tuple(torch.cat(parts, dim=0) for parts in zip(*states, strict=True))


def single_layers(rnn: nn.RNNBase) -> list[nn.RNNBase]:
    """One single-layer module per layer of `rnn`, on the meta device: shapes only, the weights come later."""
    kind = type(rnn)
    extra = {"nonlinearity": rnn.nonlinearity} if isinstance(rnn, nn.RNN) else {}
    return [kind(rnn.input_size if k == 0 else rnn.hidden_size, rnn.hidden_size, 1, bias=rnn.bias, device="meta",
                 **extra) for k in range(rnn.num_layers)]


def run_layers(
    rnn: nn.RNNBase,
    layers: list[nn.RNNBase],
    inputs: torch.Tensor,
    state: State,
    between: float = 0.0,
    weight_drop: float = 0.0,
    locked: bool = True,
) -> tuple[torch.Tensor, State]:
    """`rnn(inputs, state)` one layer at a time (`layers` from `single_layers`), with dropout `between` the
    layers (one mask per sequence when `locked`, else fresh at every step) and DropConnect `weight_drop` on
    each hidden-to-hidden matrix."""
    drop = locked_dropout if locked else fresh_dropout
    x, states = inputs, []
    for k, layer in enumerate(layers):
        if k:
            x = drop(x, between)
        weights = {f"{name}_l0": getattr(rnn, f"{name}_l{k}") for name in _WEIGHTS if hasattr(rnn, f"{name}_l{k}")}
        weights["weight_hh_l0"] = drop_connect(weights["weight_hh_l0"], weight_drop)
        x, s = functional_call(layer, weights, (x, _layer_state(state, k)))
        states.append(s)
    return x, _stack_states(states)
