"""The scratch RNN against the book's code and nn.RNN; the nn.RNN/GRU/LSTM models' shapes and layout."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from seqpipe.models.dropout import fresh_dropout, keep_mask, locked_dropout, run_layers, single_layers
from seqpipe.models.rnn_lm import RNNLM, build_lm, detach_state, state_rows
from seqpipe.models.rnn_scratch import RNNScratch


def book_rnn(X, state, params, vocab_size):
    """d2l 2.0 §8.5 verbatim (one step at a time, one-hot, per-step output layer)."""
    W_xh, W_hh, b_h, W_hq, b_q = params
    (H,) = state
    outputs = []
    for x in F.one_hot(X.T, vocab_size).float():
        H = torch.tanh(torch.mm(x, W_xh) + torch.mm(H, W_hh) + b_h)
        outputs.append(torch.mm(H, W_hq) + b_q)
    return torch.cat(outputs, dim=0), (H,)


def test_scratch_shapes_are_the_books():
    torch.manual_seed(0)
    net = RNNScratch(28, 512)
    Y, state = net(torch.arange(10).reshape(2, 5), net.begin_state(2))
    assert Y.shape == (10, 28) and state.shape == (2, 512)
    assert [tuple(p.shape) for p in net.parameters()] == [(28, 512), (512, 512), (512,), (512, 28), (28,)]
    assert (
        float(net.b_h.detach().abs().sum()) == 0 and 0.005 < float(net.W_hh.detach().std()) < 0.015
    )  # randn * 0.01, zero bias


def test_scratch_matches_the_books_step_by_step_code():
    torch.manual_seed(1)
    net = RNNScratch(28, 64, sigma=0.3)
    with torch.no_grad():
        net.b_h.normal_()
        net.b_q.normal_()
    X = torch.randint(0, 28, (3, 7))
    H0 = torch.randn(3, 64)
    ours, H = net(X, H0)
    book, (H_book,) = book_rnn(X, (H0,), [net.W_xh, net.W_hh, net.b_h, net.W_hq, net.b_q], 28)
    torch.testing.assert_close(ours, book, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(H, H_book, rtol=1e-5, atol=1e-6)


def test_scratch_equals_nn_rnn_given_the_same_weights():
    torch.manual_seed(2)
    scratch = RNNScratch(28, 32, sigma=0.2)
    concise = RNNLM(28, "rnn", num_hiddens=32)  # one-hot input, like the book's RNNModel
    with torch.no_grad():
        scratch.b_h.normal_()
        scratch.b_q.normal_()
        concise.rnn.weight_ih_l0.copy_(scratch.W_xh.T)
        concise.rnn.weight_hh_l0.copy_(scratch.W_hh.T)
        concise.rnn.bias_ih_l0.copy_(scratch.b_h)
        concise.rnn.bias_hh_l0.zero_()
        concise.linear.weight.copy_(scratch.W_hq.T)
        concise.linear.bias.copy_(scratch.b_q)
    X = torch.randint(0, 28, (4, 9))
    H0 = torch.randn(4, 32)
    y1, h1 = scratch(X, H0)
    y2, h2 = concise(X, H0[None])
    torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h1, h2[0], rtol=1e-5, atol=1e-6)
    y1.square().sum().backward()
    y2.square().sum().backward()
    torch.testing.assert_close(scratch.W_hh.grad, concise.rnn.weight_hh_l0.grad.T, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("layers,embedding", [(1, 0), (2, 8)])
def test_nn_models_shapes_and_time_major_layout(cell, layers, embedding):
    torch.manual_seed(3)
    net = RNNLM(28, cell, num_hiddens=16, num_layers=layers, embedding_dim=embedding).eval()
    X = torch.randint(0, 28, (3, 5))
    Y, state = net(X, net.begin_state(3))
    assert Y.shape == (15, 28)
    states = state if isinstance(state, tuple) else (state,)
    assert len(states) == (2 if cell == "lstm" else 1) and all(s.shape == (layers, 3, 16) for s in states)
    # time-major: row t*batch + b holds the prediction after X[b, t]; row 1 alone gives the same numbers
    Y1, _ = net(X[1:2], state_rows(net.begin_state(3), 1, slice(1, 2)))
    torch.testing.assert_close(Y.reshape(5, 3, 28)[:, 1], Y1, rtol=1e-5, atol=1e-6)


def test_detach_cuts_the_graph_and_keeps_values():
    net = RNNLM(10, "lstm", num_hiddens=4)
    _, state = net(torch.zeros(2, 3, dtype=torch.long), net.begin_state(2))
    cut = detach_state(state)
    assert all(not s.requires_grad and torch.equal(s, t) for s, t in zip(cut, state, strict=True))


def test_build_lm_refuses_a_layered_scratch_rnn():
    with pytest.raises(ValueError, match="one layer"):
        build_lm("scratch-rnn", 28, layers=2)
    with pytest.raises(ValueError, match="unknown cell"):
        RNNLM(28, "transformer")  # type: ignore[arg-type]


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_weight_drop_is_a_masked_copy_of_the_recurrent_weights(cell):
    """Training: DropConnect equals a plain layer whose hidden-to-hidden weights were masked (same RNG draws);
    the gradient reaches the kept weights only, scaled by 1/(1-p); evaluation and the stored weights are untouched."""
    torch.manual_seed(0)
    p = 0.4
    net = build_lm(cell, 20, hidden=12, layers=2, embedding=6, weight_drop=p)
    X = torch.randint(0, 20, (3, 9))
    state = net.begin_state(3)
    before = {n: w.detach().clone() for n, w in net.rnn.named_parameters()}
    net.train()
    torch.manual_seed(7)
    Y, _ = net(X, state)
    Y.square().sum().backward()

    oracle = RNNLM(20, cell, 12, 2, 6)
    oracle.load_state_dict(net.state_dict())
    torch.manual_seed(7)
    masks = {n: keep_mask(tuple(w.shape), p, w) for n, w in oracle.rnn.named_parameters() if n.startswith("weight_hh")}
    with torch.no_grad():
        for n, mask in masks.items():
            getattr(oracle.rnn, n).mul_(mask)
    Y_oracle, _ = oracle(X, state)
    Y_oracle.square().sum().backward()
    torch.testing.assert_close(Y, Y_oracle)
    for n, mask in masks.items():
        assert 0.2 < float((mask == 0).float().mean()) < 0.6  # about p of them dropped
        torch.testing.assert_close(getattr(net.rnn, n).grad, getattr(oracle.rnn, n).grad * mask)
        assert float(getattr(net.rnn, n).grad[mask == 0].abs().sum()) == 0.0
    assert all(torch.equal(w, before[n]) for n, w in net.rnn.named_parameters())

    net.eval()
    plain = RNNLM(20, cell, 12, 2, 6)
    plain.load_state_dict(net.state_dict())
    plain.eval()
    torch.testing.assert_close(net(X, state)[0], plain(X, state)[0], rtol=0, atol=0)


def test_build_lm_refuses_weight_drop_on_the_scratch_rnn():
    with pytest.raises(ValueError, match="scratch RNN"):
        build_lm("scratch-rnn", 28, weight_drop=0.2)


def _nonzero_state(net, batch):
    torch.manual_seed(3)
    state = net.begin_state(batch)
    return tuple(torch.randn_like(s) for s in state) if isinstance(state, tuple) else torch.randn_like(state)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_layers_run_one_by_one_equal_the_fused_module(cell):
    """Training with dropout runs the layers one at a time; without masks that is the multi-layer module exactly."""
    torch.manual_seed(0)
    net = build_lm(cell, 20, hidden=12, layers=3, embedding=6)
    inputs, state = torch.randn(9, 4, 6), _nonzero_state(net, 4)
    Y, s_layers = run_layers(net.rnn, single_layers(net.rnn), inputs, state)
    Y_fused, s_fused = net.rnn(inputs, state)
    torch.testing.assert_close(Y, Y_fused)
    for a, b in zip(*(s if isinstance(s, tuple) else (s,) for s in (s_layers, s_fused)), strict=True):
        torch.testing.assert_close(a, b)


def _assert_masked_by_hand(variational: bool) -> None:
    """Oracle: two single-layer LSTMs with the model's weights, masks drawn in the same order (one per row
    when `variational`, else one per element) and applied by hand between them and before the output."""
    torch.manual_seed(0)
    p = 0.5
    net = build_lm("lstm", 20, hidden=12, layers=2, embedding=6, dropout=p, variational=variational)
    X, state = torch.randint(0, 20, (4, 9)), _nonzero_state(net, 4)
    net.train()
    torch.manual_seed(5)
    Y, (h, c) = net(X, state)

    layers = [torch.nn.LSTM(6, 12), torch.nn.LSTM(12, 12)]
    for k, layer in enumerate(layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(layer, f"{name}_l0").data.copy_(getattr(net.rnn, f"{name}_l{k}").data)
    torch.manual_seed(5)
    shape = (1 if variational else 9, 4, 12)
    between, before_output = keep_mask(shape, p, h), keep_mask(shape, p, h)
    assert variational or not torch.equal(between[0], between[1])  # fresh: a new mask at every step
    out0, (h0, c0) = layers[0](net.embedding(X.T), (state[0][:1], state[1][:1]))
    out1, (h1, c1) = layers[1](out0 * between, (state[0][1:], state[1][1:]))
    torch.testing.assert_close(Y, net.linear((out1 * before_output).reshape(-1, 12)))
    torch.testing.assert_close(h, torch.cat([h0, h1]))
    torch.testing.assert_close(c, torch.cat([c0, c1]))

    net.eval()  # evaluation: the fused module, no dropout
    out, _ = net.rnn(net.embedding(X.T), state)
    torch.testing.assert_close(net(X, state)[0], net.linear(out.reshape(-1, 12)), rtol=0, atol=0)


def test_dropout_is_a_fresh_mask_per_element_between_layers_and_before_the_output():
    _assert_masked_by_hand(variational=False)


def test_variational_dropout_is_one_mask_per_row_between_layers_and_before_the_output():
    _assert_masked_by_hand(variational=True)


def test_locked_dropout_keeps_a_unit_off_for_every_step():
    torch.manual_seed(0)
    x = torch.ones(50, 64, 32)
    y = locked_dropout(x, 0.3)
    assert torch.equal(y, y[:1].expand_as(y))  # the same mask at every step
    dropped = float((y[0] == 0).float().mean())
    assert 0.25 < dropped < 0.35 and abs(float(y.mean()) - 1.0) < 0.05  # about p dropped, the mean kept
    assert torch.equal(locked_dropout(x, 0.0), x)


def test_fresh_dropout_drops_about_p_of_every_step_and_keeps_the_mean():
    torch.manual_seed(0)
    x = torch.ones(50, 64, 32)
    y = fresh_dropout(x, 0.3)
    assert not torch.equal(y[0], y[1])
    dropped = (y == 0).float().mean(dim=(1, 2))  # per step
    assert bool(((dropped > 0.25) & (dropped < 0.35)).all()) and abs(float(y.mean()) - 1.0) < 0.02
    torch.testing.assert_close(y.unique(), torch.tensor([0.0, 1 / 0.7]))
    assert torch.equal(fresh_dropout(x, 0.0), x)


def test_build_lm_refuses_variational_dropout_on_the_scratch_rnn():
    with pytest.raises(ValueError, match="scratch RNN"):
        build_lm("scratch-rnn", 28, variational=True)
