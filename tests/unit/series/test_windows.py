"""Tau-lag windows, the split and the transform, checked against hand-written loops."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.models.windows import history_windows
from seqpipe.series.windows import Scaler, Transform, lag_features, make_split


def test_lag_features_match_the_books_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=1000)
    tau = 4
    features, labels = lag_features(x, tau)
    # the book: features[:, i] = x[i : T - tau + i]; labels = x[tau:]
    book = np.zeros((1000 - tau, tau))
    for i in range(tau):
        book[:, i] = x[i : 1000 - tau + i]
    assert features.shape == (996, 4)
    assert np.array_equal(features, book) and np.array_equal(labels, x[tau:])
    # row r: the tau values right before its label
    for r in (0, 17, 995):
        assert features[r].tolist() == x[r : r + tau].tolist() and labels[r] == x[r + tau]


def test_history_windows_and_their_bounds():
    x = np.arange(20.0)
    rows = history_windows(x, np.array([4, 19]), 5)
    assert rows.tolist() == [[0, 1, 2, 3, 4], [15, 16, 17, 18, 19]]
    with pytest.raises(ValueError, match=r"origins must lie in \[4, 19\]"):
        history_windows(x, np.array([3]), 5)
    with pytest.raises(ValueError):
        history_windows(x, np.array([20]), 5)


def test_split_of_the_book():
    split = make_split(1000, 4, 600, 64)
    assert (split.train_end, split.test_start, split.first_origin) == (604, 604, 3)
    assert len(split.table_origins) == 933 and split.table_origins[[0, -1]].tolist() == [3, 935]
    # scored origins: the last training point onwards, while x[o + 64] still exists
    assert split.eval_origins[[0, -1]].tolist() == [603, 935]
    assert split.summary()["n_test_points"] == 396
    lagged = make_split(1000, 4, 600, 64, lag=1)
    assert lagged.first_origin == 4 and len(lagged.table_origins) == 932


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((100, 4, 50, 64), r"series too short: 100 points < n_train 50 \+ tau 4 \+ max horizon 64 = 118"),
        ((67, 4, 0, 64), "no training pairs"),
        ((67, 0, 10, 4), "tau=0"),
        ((67, 4, 10, 0), "horizons is empty"),
        ((100, 4, 1, 8, 1), "no training pairs"),
    ],
)
def test_split_errors(args, message):
    with pytest.raises(ValueError, match=message):
        make_split(*args)


def test_smallest_series_that_fits():
    split = make_split(50 + 4 + 64, 4, 50, 64)
    assert len(split.eval_origins) == 1


def test_scaler_is_fitted_on_the_training_range_only():
    x = np.r_[np.arange(10.0), 1000 * np.ones(10)]
    scaler = Scaler.fit(x[:10], "standard")
    assert scaler.mean == pytest.approx(4.5) and scaler.std == pytest.approx(np.std(np.arange(10.0)))
    changed = x.copy()
    changed[10:] = -5
    tr_a, tr_b = Transform.fit(x, 10, "standard", False), Transform.fit(changed, 10, "standard", False)
    assert tr_a == tr_b  # nothing after the training range moves the fit
    assert np.allclose(scaler.inverse(scaler.transform(x)), x)
    assert Scaler.fit(np.ones(5), "standard").std == 1.0
    assert Scaler.fit(x, "none") == Scaler()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(-100, 100, allow_nan=False), min_size=6, max_size=30),
    st.booleans(),
    st.sampled_from(["none", "standard"]),
)
def test_transform_inverts_exactly_on_true_values(values, difference, scaling):
    x = np.array(values)
    tr = Transform.fit(x, 5, scaling, difference)
    z = tr.to_model(x)
    origins = np.arange(int(difference), len(x) - 1)
    # feeding the true next model values back must reproduce the true next observations
    next_z = z[tr.model_origins(origins) + 1][:, None]
    assert np.allclose(tr.from_model(x, origins, next_z)[:, 0], x[origins + 1], atol=1e-6)
