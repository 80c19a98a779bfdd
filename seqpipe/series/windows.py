"""Tau-lag windows, the train/test split of a series, and scaling fitted on the training range only.

Index conventions (0-based, as in the book's code): a pair predicts x[t] from x[t-tau..t-1]; pair i has
label index i + tau. The first `n_train` pairs train, so the training range is the points
x[0 .. n_train+tau-1] (the book: 600 pairs cover x_1..x_604) and the test range starts at n_train + tau.
A forecast has an *origin* o (the last observation it may use) and predicts x[o + k] for k = 1, 2, ...
With differencing, models see d[i] = x[i+1] - x[i]; a forecast from o then needs d[o-tau..o-1], so the
first usable origin moves one step later (`Split.lag`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np


def lag_features(x: np.ndarray, tau: int) -> tuple[np.ndarray, np.ndarray]:
    """The book's pairs: features (T-tau, tau) with column i = x[i : T-tau+i], labels x[tau:].

    >>> f, y = lag_features(np.arange(7.0), 3)
    >>> f.tolist(), y.tolist()
    ([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [3.0, 4.0, 5.0]], [3.0, 4.0, 5.0, 6.0])
    """
    x = np.asarray(x)
    n = len(x) - tau
    if tau < 1 or n < 1:
        raise ValueError(f"series of {len(x)} points has no tau-lag pairs for tau={tau}")
    features = np.stack([x[i : n + i] for i in range(tau)], axis=1)
    return features, x[tau:]


@dataclass(frozen=True)
class Split:
    """Where training ends and which origins the k-step evaluation uses."""

    n_points: int
    tau: int
    n_train: int
    max_horizon: int
    lag: int = 0  # 1 when models see first differences: they need one more observation

    @property
    def first_origin(self) -> int:
        """The earliest origin every model can forecast from: tau-1, or tau with differencing."""
        return self.tau - 1 + self.lag

    @property
    def train_end(self) -> int:
        """One past the last training point: x[:train_end] is everything training may see."""
        return self.n_train + self.tau

    @property
    def test_start(self) -> int:
        """First index of the test range (equal to train_end: nothing is held out between)."""
        return self.train_end

    @property
    def table_origins(self) -> np.ndarray:
        """Origins of the book's k-step table rows: tau-1 .. T-1-max_k (933 rows for T=1000, tau=4, 64)."""
        return np.arange(self.first_origin, self.n_points - self.max_horizon)

    @property
    def eval_origins(self) -> np.ndarray:
        """Table rows scored on the test range: every k uses the same origins, all targets are test points."""
        return np.arange(self.test_start - 1, self.n_points - self.max_horizon)

    def summary(self) -> dict[str, int]:
        """The split as plain numbers for metrics.json."""
        return {
            "n_points": self.n_points,
            "tau": self.tau,
            "n_train_pairs": self.n_train,
            "train_end": self.train_end,
            "test_start": self.test_start,
            "n_test_points": self.n_points - self.test_start,
            "n_eval_origins": len(self.eval_origins),
            "max_horizon": self.max_horizon,
            "lag": self.lag,
        }


def make_split(n_points: int, tau: int, n_train: int, max_horizon: int, lag: int = 0) -> Split:
    """Validate and build the split; a series too short for it is a one-line error.

    >>> s = make_split(1000, 4, 600, 64)
    >>> s.train_end, len(s.table_origins), len(s.eval_origins)
    (604, 933, 333)
    """
    if tau < 1:
        raise ValueError(f"tau={tau}: need at least one lag (tau >= 1)")
    if max_horizon < 1:
        raise ValueError("horizons is empty: give at least one k >= 1")
    if n_train < 1 + lag:
        raise ValueError(
            f"no training pairs: the training range is too short for tau={tau} "
            f"(series of {n_points} points); raise n_train/train_frac or lower tau"
        )
    need = n_train + tau + max_horizon
    if n_points < need:
        raise ValueError(
            f"series too short: {n_points} points < n_train {n_train} + tau {tau} + max horizon "
            f"{max_horizon} = {need}; lower n_train/train_frac, tau or the horizons"
        )
    return Split(n_points=n_points, tau=tau, n_train=n_train, max_horizon=max_horizon, lag=lag)


@dataclass(frozen=True)
class Scaler:
    """x -> (x - mean) / std with both fitted on the training range; identity for kind 'none'."""

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def fit(cls, train_values: np.ndarray, kind: Literal["none", "standard"]) -> Scaler:
        """Fit on the training points only, so nothing about the test range leaks into the inputs.

        >>> Scaler.fit(np.array([1.0, 3.0]), "standard")
        Scaler(mean=2.0, std=1.0)
        """
        if kind == "none":
            return cls()
        std = float(np.std(train_values))
        # a constant training range has no spread to divide by; centring alone still helps
        return cls(mean=float(np.mean(train_values)), std=std if std > 0 else 1.0)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale values into model units."""
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.std

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """Bring model outputs back to the series' units."""
        return np.asarray(z, dtype=np.float64) * self.std + self.mean


@dataclass(frozen=True)
class Transform:
    """What models see: optionally first differences, then scaling, both fitted on the training range.

    >>> tr = Transform.fit(np.array([1.0, 2.0, 4.0, 7.0, 11.0]), train_end=4, scaling="none", difference=True)
    >>> tr.to_model(np.array([1.0, 2.0, 4.0])).tolist()
    [1.0, 2.0]
    >>> tr.from_model(np.array([1.0, 2.0, 4.0]), np.array([2]), np.array([[3.0, 4.0]])).tolist()
    [[7.0, 11.0]]
    """

    scaler: Scaler
    difference: bool = False

    @classmethod
    def fit(
        cls, x: np.ndarray, train_end: int, scaling: Literal["none", "standard"], difference: bool
    ) -> Transform:
        """Fit the scaling on the training points x[:train_end] (their differences when differencing)."""
        base = np.diff(x[:train_end]) if difference else np.asarray(x[:train_end])
        return cls(Scaler.fit(base, scaling), difference)

    def to_model(self, x: np.ndarray) -> np.ndarray:
        """The model's series: z[i] = scaled x[i], or scaled x[i+1] - x[i] with differencing."""
        return self.scaler.transform(np.diff(x) if self.difference else x)

    def model_origins(self, origins: np.ndarray) -> np.ndarray:
        """Where a forecast from x-origin o starts in the model's series (o - 1 with differencing)."""
        return np.asarray(origins) - int(self.difference)

    def from_model(self, x: np.ndarray, origins: np.ndarray, z_pred: np.ndarray) -> np.ndarray:
        """Model forecasts back to x's units; differences are summed onto the last observation x[o]."""
        pred = self.scaler.inverse(z_pred)
        if self.difference:
            pred = np.asarray(x, dtype=np.float64)[np.asarray(origins)][:, None] + np.cumsum(pred, axis=1)
        return pred
