"""k-step prediction the book's way: the 933 x 68 table, the no-peeking rule, errors checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from seqpipe.eval.multistep import (
    LastValue,
    TrainMean,
    Transformed,
    errors,
    evaluate,
    k_step_table,
    prediction_rows,
)
from seqpipe.series.sources import read_column, sine_series
from seqpipe.series.windows import Transform, make_split
from seqpipe.train.forecast_config import TrainConfig
from seqpipe.train.series import train_model

QUICK = TrainConfig(epochs=1, rnn_hidden=8, rnn_history=16)


@pytest.fixture(scope="module")
def sine():
    return sine_series(1000, seed=0).values


@pytest.fixture(scope="module")
def models(sine):
    return {name: train_model(name, sine, 4, 600, QUICK, seed=0) for name in ("linear", "mlp", "rnn", "gru")}


def assert_no_peeking(forecaster, x, origins, steps, seed=0):
    """Fails if a forecast from origin o changes when any value after x[o] changes."""
    rng = np.random.default_rng(seed)
    batched = forecaster.forecast(x, origins, steps)
    for row, o in enumerate(origins):
        base = forecaster.forecast(x, np.array([o]), steps)[0]
        assert np.allclose(base, batched[row], atol=1e-5)  # batching changes float32 rounding only
        changed = x.copy()
        changed[o + 1 :] = rng.normal(0, 50, len(x) - o - 1)  # wild future values
        again = forecaster.forecast(changed, np.array([o]), steps)[0]
        assert np.array_equal(again, base), f"forecast from origin {o} used values after x[{o}]"
        # and the rule is not met trivially: the last observation does move the forecast
        changed[o] += 1.0
        assert not np.array_equal(forecaster.forecast(changed, np.array([o]), steps)[0], base)


class PeekingForecaster:
    """A cheat: its k-step forecast is the true value one step after the origin."""

    def forecast(self, x, origins, steps):
        return np.repeat(x[np.asarray(origins) + 1][:, None], steps, axis=1)


def test_the_no_peeking_check_catches_a_cheat(sine):
    with pytest.raises(AssertionError, match="used values after"):
        assert_no_peeking(PeekingForecaster(), sine, np.array([10, 600]), 4)


@pytest.mark.parametrize("name", ["linear", "mlp", "rnn", "gru"])
def test_no_forecast_uses_a_value_after_its_origin(models, sine, name):
    origins = np.array([3, 4, 15, 16, 17, 200, 603, 604, 935])
    assert_no_peeking(models[name], sine, origins, 64)


@pytest.mark.parametrize("name", ["linear", "gru"])
def test_no_peeking_through_differencing_and_scaling(models, sine, name):
    transform = Transform.fit(sine, 604, "standard", difference=True)
    wrapped = Transformed(models[name], transform)
    assert_no_peeking(wrapped, sine, np.array([4, 5, 100, 603, 935]), 16)


def test_training_and_evaluation_ignore_everything_after_the_cut(sine):
    """Changing the test range changes no weight and no forecast whose origin lies before the change."""
    split = make_split(1000, 4, 600, 64)
    cut = 700
    changed = sine.copy()
    changed[cut:] += np.random.default_rng(1).normal(0, 3, 1000 - cut)
    evals = []
    for x in (sine, changed):
        fitted = train_model("mlp", x, 4, 600, QUICK, seed=0)
        evals.append(evaluate("mlp", fitted, x, split, (1, 4, 16, 64)))
    a, b = evals
    before = split.table_origins < cut
    assert before.sum() > 0 and (~before).sum() > 0
    for k in (1, 4, 16, 64):
        assert np.array_equal(a.k_step[k][before], b.k_step[k][before])
        assert not np.array_equal(a.k_step[k][~before], b.k_step[k][~before])
    assert np.array_equal(a.free_running, b.free_running)  # its origin (603) lies before the cut


def test_k_step_table_is_933_by_68(models, sine):
    table = k_step_table(models["mlp"], sine, tau=4, max_steps=64)
    assert table.shape == (933, 68)
    for i in range(4):
        assert np.array_equal(table[:, i], sine[i : i + 933])
    direct = models["mlp"].forecast(sine, np.arange(3, 936), 64)
    for k in (1, 4, 16, 64):
        # column tau + k - 1 of row r predicts x[r + tau + k - 1]
        assert np.array_equal(table[:, 4 + k - 1], direct[:, k - 1])
    # k = 1 is the one-step prediction from the observed window
    one_step = models["mlp"].forecast(sine, np.arange(3, 936), 1)[:, 0]
    assert np.allclose(table[:, 4], one_step)


def test_baseline_errors_by_hand(sine):
    split = make_split(1000, 4, 600, 64)
    o = np.arange(603, 936)
    last = evaluate("last_value", LastValue(), sine, split, (1, 4, 16, 64))
    mean = float(np.mean(sine[:604]))
    flat = evaluate("train_mean", TrainMean(mean), sine, split, (1, 4, 16, 64))
    for k in (1, 4, 16, 64):
        assert last.k_step_errors[k]["mse"] == pytest.approx(np.mean((sine[o + k] - sine[o]) ** 2))
        assert last.k_step_errors[k]["mae"] == pytest.approx(np.mean(np.abs(sine[o + k] - sine[o])))
        assert last.k_step_errors[k]["n"] == 333
        assert flat.k_step_errors[k]["mse"] == pytest.approx(np.mean((sine[o + k] - mean) ** 2))
    assert last.one_step_errors["mse"] == pytest.approx(np.mean((sine[604:] - sine[603:-1]) ** 2))
    assert last.one_step_errors["n"] == 396
    assert last.free_running_errors["mse"] == pytest.approx(np.mean((sine[604:] - sine[603]) ** 2))


def test_model_errors_by_hand(models, sine):
    split = make_split(1000, 4, 600, 64)
    ev = evaluate("gru", models["gru"], sine, split, (1, 16))
    o = np.arange(603, 936)
    preds = models["gru"].forecast(sine, o, 16)
    assert ev.k_step_errors[16]["mse"] == pytest.approx(np.mean((preds[:, 15] - sine[o + 16]) ** 2))
    assert ev.k_step_errors[1]["mae"] == pytest.approx(np.mean(np.abs(preds[:, 0] - sine[o + 1])))
    assert ev.mse_by_k().keys() == {1, 16} and ev.metrics()["k_step"].keys() == {"1", "16"}


def test_prediction_rows_are_consistent(models, sine):
    split = make_split(1000, 4, 600, 64)
    ev = evaluate("mlp", models["mlp"], sine, split, (1, 4, 16, 64))
    rows = prediction_rows(ev, sine, split)
    kinds = rows["kind"]
    assert (kinds == "one_step").sum() == 996 and (kinds == "free_running").sum() == 396
    assert (kinds == "k_step").sum() == 4 * 933
    assert np.array_equal(rows["y_true"], sine[rows["t"]])
    assert np.array_equal(rows["k"], rows["t"] - rows["origin"])
    assert set(rows["k"][kinds == "k_step"]) == {1, 4, 16, 64}
    assert rows["k"][kinds == "free_running"].tolist() == list(range(1, 397))
    assert (rows["origin"] >= 3).all() and (rows["t"] <= 999).all()


def test_differenced_models_on_a_trending_series():
    co2 = read_column("co2", "co2").values
    train_end = int(0.6 * len(co2))
    split = make_split(len(co2), 4, train_end - 4, 16, lag=1)
    transform = Transform.fit(co2, train_end, "standard", difference=True)
    fitted = train_model(
        "linear", transform.to_model(co2), 4, split.n_train - 1, TrainConfig(epochs=2), seed=0
    )
    ev = evaluate("linear", Transformed(fitted, transform), co2, split, (1, 16))
    assert len(ev.k_step[1]) == len(co2) - 16 - 4 and np.isfinite(ev.k_step[16]).all()
    last = evaluate("last_value", LastValue(), co2, split, (1, 16))
    assert ev.k_step_errors[1]["mse"] < last.k_step_errors[1]["mse"]  # differences keep the level right


def test_errors_refuse_an_empty_range():
    with pytest.raises(ValueError, match="nothing to score"):
        errors(np.array([]), np.array([]))
