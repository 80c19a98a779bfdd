"""One-step, free-running and k-step evaluation of a forecaster, the book's way (d2l §8.1.3), with numbers.

A forecaster maps (series, origins, steps) to an array whose entry [r, j] predicts x[origins[r] + j + 1]
using x[..origins[r]] only. The k-step prediction of x[o + k] is column k-1; the book's table puts the
tau observed lags in front. Errors are scored on the test range against two naive baselines: the last
observed value and the mean of the training range.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from seqpipe.models.windows import history_windows
from seqpipe.series.windows import Split, Transform


class Forecaster(Protocol):
    """Anything with the no-peeking forecast method (the models, the baselines)."""

    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Entry [r, j] predicts x[origins[r] + j + 1] from x[..origins[r]]."""
        ...


@dataclass(frozen=True)
class LastValue:
    """Naive baseline: every future value equals the last observation.

    >>> LastValue().forecast(np.array([1.0, 2.0, 5.0]), np.array([0, 2]), 2).tolist()
    [[1.0, 1.0], [5.0, 5.0]]
    """

    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Repeat x[origin]."""
        return np.repeat(np.asarray(x, dtype=np.float64)[np.asarray(origins)][:, None], steps, axis=1)


@dataclass(frozen=True)
class TrainMean:
    """Naive baseline: every future value equals the mean of the training range."""

    mean: float

    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """A constant forecast."""
        return np.full((len(origins), steps), self.mean, dtype=np.float64)


@dataclass(frozen=True)
class Transformed:
    """A model trained on transformed values (scaled, maybe differenced), forecasting in the series' units."""

    inner: Forecaster
    transform: Transform

    def forecast(self, x: np.ndarray, origins: np.ndarray, steps: int) -> np.ndarray:
        """Transform x, forecast from the matching model origins, map the forecasts back."""
        origins = np.asarray(origins)
        z_pred = self.inner.forecast(self.transform.to_model(x), self.transform.model_origins(origins), steps)
        return self.transform.from_model(x, origins, z_pred)


def k_step_table(forecaster: Forecaster, x: np.ndarray, tau: int, max_steps: int) -> np.ndarray:
    """The book's (T-tau-max_steps+1) x (tau+max_steps) table: observed lags, then forecasts.

    Column i < tau holds x[i : i+rows]; column tau+k-1 of row r is the k-step forecast of x[r+tau+k-1].

    >>> table = k_step_table(LastValue(), np.arange(10.0), 2, 3)
    >>> table.shape, table[0].tolist()
    ((6, 5), [0.0, 1.0, 1.0, 1.0, 1.0])
    """
    origins = np.arange(tau - 1, len(x) - max_steps)
    observed = history_windows(x, origins, tau)
    return np.hstack([observed, forecaster.forecast(x, origins, max_steps)])


def errors(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, MAE and the number of values scored.

    >>> errors(np.array([0.0, 1.0]), np.array([1.0, 3.0]))
    {'mse': 2.5, 'mae': 1.5, 'n': 2}
    """
    diff = np.asarray(y_pred, dtype=np.float64) - np.asarray(y_true, dtype=np.float64)
    if len(diff) == 0:
        raise ValueError("nothing to score: the test range is empty")
    return {"mse": float(np.mean(diff**2)), "mae": float(np.mean(np.abs(diff))), "n": len(diff)}


@dataclass
class Evaluation:
    """What one forecaster predicted (in the series' units) and its errors on the test range."""

    name: str
    one_step: np.ndarray  # predictions of x[first_origin+1 .. T-1]
    free_running: np.ndarray  # predictions of x[train_end..T-1] from origin train_end-1
    k_step: dict[int, np.ndarray]  # k -> predictions of x[o+k] for o in split.table_origins
    one_step_errors: dict[str, float] = field(default_factory=dict)  # on x[test_start:]
    free_running_errors: dict[str, float] = field(default_factory=dict)  # on x[test_start:]
    k_step_errors: dict[int, dict[str, float]] = field(default_factory=dict)  # on split.eval_origins + k

    def mse_by_k(self) -> dict[int, float]:
        """k -> MSE on the test range."""
        return {k: v["mse"] for k, v in self.k_step_errors.items()}

    def mae_by_k(self) -> dict[int, float]:
        """k -> MAE on the test range."""
        return {k: v["mae"] for k, v in self.k_step_errors.items()}

    def metrics(self) -> dict[str, object]:
        """The errors as JSON-ready nested dicts (k as a string key)."""
        return {
            "one_step": self.one_step_errors,
            "free_running": self.free_running_errors,
            "k_step": {str(k): v for k, v in self.k_step_errors.items()},
        }


def evaluate(
    name: str, forecaster: Forecaster, x: np.ndarray, split: Split, horizons: tuple[int, ...]
) -> Evaluation:
    """Run one-step, free-running and k-step forecasts on x and score them on the test range.

    >>> from seqpipe.series.windows import make_split
    >>> ev = evaluate("last", LastValue(), np.arange(12.0), make_split(12, 2, 4, 3), (1, 3))
    >>> ev.k_step_errors[3], ev.one_step_errors["n"]
    ({'mse': 9.0, 'mae': 3.0, 'n': 4}, 6)
    """
    x = np.asarray(x, dtype=np.float64)
    n, first = len(x), split.first_origin
    one = forecaster.forecast(x, np.arange(first, n - 1), 1)[:, 0]
    free = forecaster.forecast(x, np.array([split.train_end - 1]), n - split.train_end)[0]
    table = forecaster.forecast(x, split.table_origins, split.max_horizon)
    k_step = {k: table[:, k - 1] for k in horizons}
    test = slice(split.test_start - first - 1, None)  # one_step[i] predicts x[first + 1 + i]
    rows = split.eval_origins - split.table_origins[0]
    return Evaluation(
        name=name,
        one_step=one,
        free_running=free,
        k_step=k_step,
        one_step_errors=errors(x[split.test_start :], one[test]),
        free_running_errors=errors(x[split.test_start :], free),
        k_step_errors={k: errors(x[split.eval_origins + k], k_step[k][rows]) for k in horizons},
    )


def prediction_rows(ev: Evaluation, x: np.ndarray, split: Split) -> dict[str, np.ndarray]:
    """Long-format columns (t, origin, k, kind, y_true, y_pred, model) for predictions.parquet.

    t is the 0-based index of the predicted value; k = t - origin.
    """
    n = len(x)
    t_parts, origin_parts, kind_parts, pred_parts = [], [], [], []

    def add(t: np.ndarray, origin: np.ndarray, kind: str, pred: np.ndarray) -> None:
        t_parts.append(t)
        origin_parts.append(origin)
        kind_parts.append(np.full(len(t), kind, dtype=object))
        pred_parts.append(pred)

    one_t = np.arange(split.first_origin + 1, n)
    add(one_t, one_t - 1, "one_step", ev.one_step)
    free_t = np.arange(split.train_end, n)
    add(free_t, np.full(len(free_t), split.train_end - 1), "free_running", ev.free_running)
    for k, pred in ev.k_step.items():
        add(split.table_origins + k, split.table_origins, "k_step", pred)
    t = np.concatenate(t_parts)
    origin = np.concatenate(origin_parts)
    return {
        "t": t,
        "origin": origin,
        "k": t - origin,
        "kind": np.concatenate(kind_parts),
        "y_true": np.asarray(x, dtype=np.float64)[t],
        "y_pred": np.concatenate(pred_parts),
        "model": np.full(len(t), ev.name, dtype=object),
    }
