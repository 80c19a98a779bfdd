"""The book's forecast figures (matplotlib Agg, written atomically) plus error against k for each model.

Figures: one-step predictions against the data; one-step and free-running ("multistep") predictions;
k-step curves for each k, each drawn at the time of the value it predicts; MSE against k (log-log)
for every model and both baselines; the training loss per epoch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display anywhere this runs (CI, workers); set before pyplot is imported

import matplotlib.pyplot as plt
import numpy as np

from seqpipe.eval.multistep import Evaluation
from seqpipe.io import atomic_path
from seqpipe.series.windows import Split


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path


def _keep_data_in_view(ax: plt.Axes, x: np.ndarray) -> None:
    # a diverging free-running forecast must not squash the data into a flat line
    lo, hi = float(np.min(x)), float(np.max(x))
    pad = 0.5 * (hi - lo or 1.0)
    ax.set_ylim(lo - pad, hi + pad)


def _mark_train_end(ax: plt.Axes, time: np.ndarray, split: Split) -> None:
    ax.axvline(time[split.train_end - 1], color="grey", linestyle=":", linewidth=1, label="end of training")


def plot_one_step(
    time: np.ndarray, x: np.ndarray, evals: Sequence[Evaluation], split: Split, path: Path
) -> Path:
    """Data and the 1-step-ahead predictions of every model (the book's first prediction figure)."""
    fig, ax = plt.subplots(figsize=(9, 3.5))
    ax.plot(time, x, color="black", linewidth=0.8, label="data")
    for ev in evals:
        ax.plot(time[split.first_origin + 1 :], ev.one_step, linewidth=1, label=f"{ev.name} 1-step")
    _mark_train_end(ax, time, split)
    ax.set(xlabel="time", ylabel="x", title="one-step-ahead predictions")
    ax.legend(fontsize=8, ncol=3)
    return _save(fig, path)


def plot_multistep(
    time: np.ndarray, x: np.ndarray, evals: Sequence[Evaluation], split: Split, path: Path
) -> Path:
    """Data, 1-step predictions and the free-running forecast from the end of training, one panel per model."""
    fig, axes = plt.subplots(len(evals), 1, figsize=(9, 2.6 * len(evals)), squeeze=False, sharex=True)
    for ax, ev in zip(axes[:, 0], evals, strict=True):
        ax.plot(time, x, color="black", linewidth=0.8, label="data")
        ax.plot(time[split.first_origin + 1 :], ev.one_step, linewidth=1, label="1-step preds")
        ax.plot(time[split.train_end :], ev.free_running, linewidth=1.2, label="multistep preds")
        _mark_train_end(ax, time, split)
        _keep_data_in_view(ax, x)
        ax.set(ylabel="x", title=f"{ev.name}: free-running forecast from the end of training")
        ax.legend(fontsize=8, ncol=4)
    axes[-1, 0].set_xlabel("time")
    return _save(fig, path)


def plot_k_step(
    time: np.ndarray, x: np.ndarray, evals: Sequence[Evaluation], split: Split, path: Path
) -> Path:
    """k-step-ahead predictions for each k, each at the time of its target (the book's last figure)."""
    fig, axes = plt.subplots(len(evals), 1, figsize=(9, 2.6 * len(evals)), squeeze=False, sharex=True)
    for ax, ev in zip(axes[:, 0], evals, strict=True):
        ax.plot(time, x, color="black", linewidth=0.6, alpha=0.5, label="data")
        for k, pred in ev.k_step.items():
            ax.plot(time[split.table_origins + k], pred, linewidth=1, label=f"{k}-step preds")
        _mark_train_end(ax, time, split)
        _keep_data_in_view(ax, x)
        ax.set(ylabel="x", title=f"{ev.name}: k-step-ahead predictions")
        ax.legend(fontsize=8, ncol=3)
    axes[-1, 0].set_xlabel("time")
    return _save(fig, path)


def plot_error_vs_k(evals: Sequence[Evaluation], baselines: Sequence[Evaluation], path: Path) -> Path:
    """Test MSE against k for every model (solid) and baseline (dashed), log-log."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for ev, style in [(e, "-o") for e in evals] + [(b, "--s") for b in baselines]:
        by_k = ev.mse_by_k()
        ax.plot(list(by_k), list(by_k.values()), style, label=ev.name)
    ax.set(xlabel="k (steps ahead)", ylabel="test MSE", title="k-step error on the test range")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    return _save(fig, path)


def plot_training_loss(losses: dict[str, list[float]], path: Path) -> Path:
    """Training MSE (model units) after each epoch."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, values in losses.items():
        ax.plot(range(1, len(values) + 1), values, "-o", label=name)
    ax.set(xlabel="epoch", ylabel="training MSE (model units)", title="training loss")
    ax.legend(fontsize=8)
    return _save(fig, path)


def write_plots(
    folder: Path,
    time: np.ndarray,
    x: np.ndarray,
    evals: Sequence[Evaluation],
    baselines: Sequence[Evaluation],
    split: Split,
    losses: dict[str, list[float]],
) -> list[Path]:
    """Write every figure into `folder`; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        plot_one_step(time, x, evals, split, folder / "one_step.png"),
        plot_multistep(time, x, evals, split, folder / "multistep.png"),
        plot_k_step(time, x, evals, split, folder / "k_step.png"),
        plot_error_vs_k(evals, baselines, folder / "error_vs_k.png"),
        plot_training_loss(losses, folder / "training_loss.png"),
    ]
