"""The models: the book's initialisation, forecasts against numpy re-implementations, training vs least squares."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from seqpipe.models.ar_mlp import MLP, LinearAR, window_training_data
from seqpipe.models.ar_rnn import LatentAR, sequence_training_data
from seqpipe.series.sources import sine_series
from seqpipe.series.windows import lag_features
from seqpipe.train.forecast_config import TrainConfig
from seqpipe.train.series import build_model, fit, train_model


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().numpy().astype(np.float64)


def test_mlp_is_the_books_net_with_xavier_weights():
    torch.manual_seed(0)
    net = MLP(4)
    first, second = net.net[0], net.net[2]
    assert isinstance(net.net[1], torch.nn.ReLU)
    assert first.weight.shape == (10, 4) and second.weight.shape == (1, 10)
    # xavier_uniform_: U(-a, a), a = sqrt(6 / (fan_in + fan_out)); biases keep U(-1/sqrt(fan_in), ...)
    assert first.weight.abs().max() <= math.sqrt(6 / 14) and second.weight.abs().max() <= math.sqrt(6 / 11)
    assert first.weight.abs().max() > 1 / math.sqrt(4)  # wider than PyTorch's default bound: xavier applied
    assert first.bias.abs().max() <= 1 / math.sqrt(4) and second.bias.abs().max() <= 1 / math.sqrt(10)
    assert sum(p.numel() for p in net.parameters()) == 4 * 10 + 10 + 10 + 1


def test_linear_ar_is_d2l_1_0_init():
    torch.manual_seed(0)
    nets = [LinearAR(400) for _ in range(3)]
    weights = torch.cat([n.net.weight.detach().ravel() for n in nets])
    assert abs(float(weights.std()) - 0.01) < 0.001 and all(float(n.net.bias.detach()) == 0.0 for n in nets)


def test_mlp_rollout_is_the_books_k_step_loop():
    x = sine_series(200, seed=1).values
    net = build_model("mlp", 4, TrainConfig(), 4, seed=3)
    tau, max_steps, T = 4, 8, len(x)
    # d2l 2.0 verbatim (numpy): observed columns, then net(previous tau columns)
    W1, b1, W2, b2 = (_np(p) for p in net.parameters())
    book = np.zeros((T - tau - max_steps + 1, tau + max_steps))
    for i in range(tau):
        book[:, i] = x[i : i + T - tau - max_steps + 1]
    for i in range(tau, tau + max_steps):
        book[:, i] = (np.maximum(book[:, i - tau : i] @ W1.T + b1, 0) @ W2.T + b2).ravel()
    ours = net.forecast(x, np.arange(tau - 1, T - max_steps), max_steps)
    assert ours.shape == (T - tau - max_steps + 1, max_steps)
    assert np.allclose(ours, book[:, tau:], atol=1e-5)


def _sigmoid(v):
    return 1 / (1 + np.exp(-v))


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_latent_forecast_matches_a_numpy_recurrence(cell):
    x = sine_series(60, seed=2).values
    net = build_model(cell, 4, TrainConfig(rnn_hidden=5), history=7, seed=1)
    p = {name: _np(t) for name, t in net.named_parameters()}
    Wi, Wh, bi, bh = p["rnn.weight_ih_l0"], p["rnn.weight_hh_l0"], p["rnn.bias_ih_l0"], p["rnn.bias_hh_l0"]
    Wo, bo = p["head.weight"], p["head.bias"]

    def step(h, value):
        gi, gh = Wi[:, 0] * value + bi, Wh @ h + bh
        if cell == "rnn":
            return np.tanh(gi + gh)
        r, z = _sigmoid(gi[:5] + gh[:5]), _sigmoid(gi[5:10] + gh[5:10])
        n = np.tanh(gi[10:] + r * gh[10:])
        return (1 - z) * n + z * h

    def oracle(origin, steps):
        h = np.zeros(5)
        for value in x[max(0, origin - 6) : origin + 1]:  # at most 7 observations, from a zero state
            h = step(h, value)
        out = []
        for _ in range(steps):
            out.append(float((Wo @ h + bo)[0]))
            h = step(h, out[-1])  # its own prediction is the next input
        return out

    origins = np.array([0, 3, 5, 6, 7, 30, 59])
    ours = net.forecast(x, origins, 6)
    assert np.allclose(ours, [oracle(o, 6) for o in origins], atol=1e-5)


def test_training_data_never_reaches_past_the_training_range():
    x = np.arange(100.0)
    windows, labels = window_training_data(x, 4, 10)
    assert windows.max() == 12 and labels.max() == 13  # 10 pairs cover x[0..13] = train_end - 1
    inputs, targets = sequence_training_data(x, 14, 5)
    assert targets.max() == 13 and inputs.shape == (9, 5)
    with pytest.raises(ValueError, match="too short for an rnn history of 20"):
        sequence_training_data(x, 14, 20)


def test_linear_training_reaches_the_least_squares_optimum():
    x = sine_series(seed=3).values
    features, labels = lag_features(x, 4)
    design = np.c_[features[:600], np.ones(600)]
    w, *_ = np.linalg.lstsq(design, labels[:600], rcond=None)
    oracle_mse = float(np.mean((design @ w - labels[:600]) ** 2))
    fitted = train_model("linear", x, 4, 600, TrainConfig(epochs=30, lr=0.003), seed=0)
    got = np.r_[_np(fitted.net.net.weight).ravel(), _np(fitted.net.net.bias)]
    # nothing can fit the training pairs better than least squares; Adam should get within 2%
    assert oracle_mse * 0.9999 <= fitted.epoch_losses[-1] <= oracle_mse * 1.02
    assert np.abs(got - w).max() < 0.05


def test_fit_is_seeded_and_leaves_the_global_rng_alone():
    x = sine_series(300, seed=0).values
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = train_model("gru", x, 4, 100, TrainConfig(epochs=1, rnn_hidden=4, rnn_history=8), seed=5)
    after = torch.rand(1)
    b = train_model("gru", x, 4, 100, TrainConfig(epochs=1, rnn_hidden=4, rnn_history=8), seed=5)
    assert torch.equal(before, after)
    assert a.epoch_losses == b.epoch_losses
    c = train_model("gru", x, 4, 100, TrainConfig(epochs=1, rnn_hidden=4, rnn_history=8), seed=6)
    assert a.epoch_losses != c.epoch_losses


def test_fit_refuses_nan_and_unknown_models():
    net = LinearAR(2)
    with pytest.raises(ValueError, match="NaN or inf"):
        fit(net, np.array([[1.0, np.nan]]), np.array([[1.0]]), TrainConfig(epochs=1), seed=0)
    with pytest.raises(ValueError, match="unknown model 'lstm'"):
        build_model("lstm", 4, TrainConfig(), 4, seed=0)


def test_latent_model_rejects_bad_history_and_origins():
    with pytest.raises(ValueError, match="history=0"):
        LatentAR("gru", 4, history=0)
    with pytest.raises(ValueError, match="origins must lie"):
        LatentAR("rnn", 4, history=3).forecast(np.arange(5.0), np.array([5]), 1)
