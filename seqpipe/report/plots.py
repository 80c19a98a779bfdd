"""The report's figures, all inside `runs/<id>/plots/` so the folder can be moved or served as it is.

Drawn here (matplotlib Agg): training curves of the neural LMs (train and valid perplexity per epoch)
and n-gram perplexity by order. Copied here: the snapshot's Zipf plot and the series plots (shown where
they are when a `forecast --out` folder is reported: they are already here). Every file is written
atomically; PNGs left by an earlier render that this one did not write or show are removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display where reports are rendered (CI, workers); set before pyplot is imported

import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from seqpipe.io import atomic_path, atomic_write_bytes
from seqpipe.report.collect import RunData
from seqpipe.results import NeuralLMResult, NgramLMResult

SERIES_CAPTIONS = {
    "error_vs_k": "Test MSE against the horizon k for every model and both baselines (log-log).",
    "k_step": "k-step forecasts, each drawn at the time of the value it predicts.",
    "one_step": "One-step predictions against the data.",
    "multistep": "One-step and free-running (multistep) forecasts from the end of the training range.",
    "training_loss": "Training loss per epoch (model units).",
}
SERIES_ORDER = ("error_vs_k", "k_step", "one_step", "multistep", "training_loss")


@dataclass(frozen=True)
class Figure:
    """A PNG in `plots/`: its path relative to the run folder and a caption."""

    src: str
    caption: str


@dataclass
class Figures:
    """The report's figures by section; None / empty where the stage did not run."""

    zipf: Figure | None = None
    curves: Figure | None = None
    ngram_orders: Figure | None = None
    series: list[Figure] = field(default_factory=list)
    history: Figure | None = None

    def all(self) -> list[Figure]:
        """Every figure, in report order."""
        return [f for f in (self.zipf, self.history, self.curves, self.ngram_orders) if f] + self.series


def _save(fig: plt.Figure, path: Path) -> Path:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_training_curves(models: Sequence[NeuralLMResult], path: Path) -> Path | None:
    """Train (dashed) and valid (solid) perplexity per epoch for each neural model; None without any history."""
    drawn = [m for m in models if m.history]
    if not drawn:
        return None
    fig, ax = plt.subplots(figsize=(6.2, 4.0))
    for i, m in enumerate(drawn):
        color = f"C{i % 10}"
        epochs = [h.get("epoch") for h in m.history]
        for key, style, label in (("train_ppl", "--o", "train"), ("valid_ppl", "-s", "valid")):
            values = [h.get(key) for h in m.history]
            points = [(e, v) for e, v in zip(epochs, values) if e is not None and v is not None]
            if points:
                ax.plot(*zip(*points), style, color=color, markersize=4, label=f"{m.name} {label}")
    baselines = {m.unigram_valid_ppl for m in drawn if m.unigram_valid_ppl}
    if len(baselines) == 1:
        ax.axhline(baselines.pop(), color="grey", linestyle=":", linewidth=1, label="unigram baseline (valid)")
    low, high = ax.get_ylim()
    if low > 0 and high / low > 5:  # log scale only when the curves span a wide range
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set(xlabel="epoch", ylabel="perplexity", title="Neural language models: training curves")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3, frameon=False)
    return _save(fig, path)


def plot_ngram_orders(models: Sequence[NgramLMResult], path: Path) -> Path | None:
    """Test perplexity (incl. and excl. OOVs) against the order, one line per smoothing and token unit;
    None under two models. Word and character models never share a line (their perplexities differ ~50x)."""
    finite = [m for m in models if m.ppl_incl_oov is not None and m.ppl_incl_oov != float("inf")]
    if len(finite) < 2:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.8))
    groups = sorted({(m.smoothing, m.text.get("tokens", "word")) for m in finite})
    for i, (smoothing, unit) in enumerate(groups):
        mine = sorted((m for m in finite if (m.smoothing, m.text.get("tokens", "word")) == (smoothing, unit)),
                      key=lambda m: m.order)
        orders = [m.order for m in mine]
        name = f"{smoothing}, {unit}s"
        ax.plot(orders, [m.ppl_incl_oov for m in mine], "-o", color=f"C{i}", label=f"{name}, incl. OOV")
        excl = [(m.order, m.ppl_excl_oov) for m in mine if m.ppl_excl_oov not in (None, float("inf"))]
        if excl and any(m.oovs for m in mine):
            ax.plot(*zip(*excl), "--s", color=f"C{i}", label=f"{name}, excl. OOV")
    values = [m.ppl_incl_oov for m in finite]
    if max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.set(xlabel="order n", ylabel="test perplexity", title="n-gram models: test perplexity by order")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def copy_plot(src: Path, dest: Path) -> Path:
    """Copy a PNG into the plots folder atomically."""
    return atomic_write_bytes(dest, src.read_bytes())


def write_figures(run: RunData) -> Figures:
    """Draw and copy every figure of the report into `<run>/plots/`."""
    folder = run.run_dir / "plots"
    folder.mkdir(parents=True, exist_ok=True)
    figures = Figures()
    written: list[Path] = []

    def keep(path: Path | None, caption: str) -> Figure | None:
        if path is None:
            return None
        written.append(path)
        return Figure(path.relative_to(run.run_dir).as_posix(), caption)

    if run.corpus and run.corpus.zipf_plot:
        exps = ", ".join(f"α{n} = {z['alpha_all_ranks']:.2f}" for n, z in sorted(run.corpus.zipf.items())
                         if z.get("alpha_all_ranks") is not None)
        figures.zipf = keep(copy_plot(run.corpus.zipf_plot, folder / "zipf.png"),
                            f"Frequency against rank, log-log (Zipf's law); fitted exponents over all ranks: {exps}.")
    if run.corpus:
        from seqpipe.report.history import plot_history

        figures.history = keep(plot_history(run.corpus, folder / "corpus_history.png"),
                               "Tokens and distinct n-grams of every published snapshot of the corpus, up to this run's.")
    figures.ngram_orders = keep(plot_ngram_orders(run.ngram, folder / "ngram_orders.png"),
                                "Test perplexity of the n-gram models against their order.")
    figures.curves = keep(plot_training_curves(run.neural, folder / "lm_curves.png"),
                          "Train (dashed) and validation (solid) perplexity per epoch; dotted: the unigram baseline.")
    if run.series:
        by_stem = {p.stem: p for p in run.series_plots}
        for stem in [*SERIES_ORDER, *sorted(set(by_stem) - set(SERIES_ORDER))]:
            if stem in by_stem:
                src = by_stem[stem]
                here = src.parent.resolve() == folder.resolve()  # the stage's own file: never rewritten
                fig = keep(src if here else copy_plot(src, folder / f"series_{stem}.png"),
                           SERIES_CAPTIONS.get(stem, stem.replace("_", " ")))
                figures.series += [fig] if fig else []
    for stale in set(folder.glob("*.png")) - set(written):
        stale.unlink(missing_ok=True)
    return figures
