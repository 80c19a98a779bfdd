"""The report's "since the last snapshot" part: the corpus history up to the run's snapshot, its plot, the
changes against the snapshot it replaced, and the n-gram diff when the refresh flow or `seqpipe diff` wrote one.

Reads only: `corpus/<name>/history.parquet` (repaired in memory when damaged) and `diffs/<a>..<b>/*.parquet`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd

from seqpipe.corpus.errors import CorpusError
from seqpipe.ngrams.diff import why_not_comparable
from seqpipe.ngrams.history import MAX_ORDER, read_history
from seqpipe.ngrams.store import read_manifest
from seqpipe.report.collect import CorpusStats
from seqpipe.report.tables import Column, Table

HISTORY_ROWS = 20
CHANGE_KEYS = ("files", "lines", "tokens", "vocab_size", *(f"distinct_{n}" for n in range(1, MAX_ORDER + 1)))


@dataclass
class SinceLast:
    """What the report shows about the corpus' previous snapshot and its history."""

    previous: str
    current: str
    changes: Table
    history: Table
    diff: list[Table]
    diff_folder: Path | None
    not_comparable: str | None = None  # why the two snapshots' n-grams cannot be compared (text config changed)


def corpus_history(corpus: CorpusStats) -> pd.DataFrame:
    """The corpus' history rows up to and including the run's snapshot (later refreshes are not this run's)."""
    frame = read_history(corpus.snapshot.parent.parent)
    mine = frame.index[frame["run_id"] == corpus.run_id]
    return frame.iloc[: mine[0] + 1].reset_index(drop=True) if len(mine) else frame.iloc[:0]


def plot_history(corpus: CorpusStats, path: Path) -> Path | None:
    """Tokens and distinct n-grams per order against publish time; None with fewer than two snapshots."""
    from seqpipe.report.plots import _save  # the report's one atomic PNG writer

    frame = corpus_history(corpus)
    if len(frame) < 2:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(frame["published_at"], frame["tokens"], marker="o")
    left.set_title("tokens")
    for n in range(1, MAX_ORDER + 1):
        if frame[f"distinct_{n}"].notna().any():
            right.plot(frame["published_at"], frame[f"distinct_{n}"], marker="o", label=f"n = {n}")
    right.set_title("distinct n-grams")
    right.legend(fontsize=8)
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(lambda value, _: f"{value:,.0f}")
    fig.suptitle(f"History of corpus {corpus.corpus}")
    return _save(fig, path)


def _number(value: object) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _changes(before: pd.Series, now: pd.Series, not_comparable: str | None) -> Table:
    rows = []
    for key in CHANGE_KEYS:
        a, b = _number(before[key]), _number(now[key])
        if a is not None or b is not None:
            rows.append({"what": key.replace("_", " "), "before": a, "now": b,
                         "delta": b - a if a is not None and b is not None else None})
    columns = [Column("what", "figure"), Column("before", before["run_id"], "int"), Column("now", now["run_id"], "int"),
               Column("delta", "change", "int")]
    note = (f"Files added {now['files_added']}, changed {now['files_changed']}, removed {now['files_removed']}; "
            f"{now['mode']} count, {now['wall_s']:.1f} s, triggered by {now['trigger']}.")
    if not_comparable:
        note += f" Not comparable: {not_comparable}."
    return Table("since-last-snapshot", "Since the last snapshot", columns, rows, note=note)


def _history_table(frame: pd.DataFrame) -> Table:
    rows = frame.tail(HISTORY_ROWS).iloc[::-1].to_dict(orient="records")
    for row in rows:
        row["published_at"] = f"{row['published_at']:%Y-%m-%d %H:%M}" if pd.notna(row["published_at"]) else None
        row["changes"] = f"+{row['files_added']} ~{row['files_changed']} −{row['files_removed']}"
    columns = [Column("run_id", "snapshot"), Column("published_at", "published (UTC)"), Column("trigger", "trigger"),
               Column("mode", "count"), Column("changes", "files + ~ −"), Column("tokens", "tokens", "int"),
               *(Column(f"distinct_{n}", f"distinct {n}-grams", "int") for n in range(1, MAX_ORDER + 1)
                 if frame[f"distinct_{n}"].notna().any()),
               Column("vocab_size", "vocabulary", "int"), Column("wall_s", "wall", "seconds")]
    return Table("corpus-history", f"Corpus history (newest first, last {HISTORY_ROWS})", columns, rows)


def _diff_tables(folder: Path) -> list[Table]:
    ngrams = pd.read_parquet(folder / "ngrams.parquet")
    tables = []
    for change, label in (("appeared", "appeared"), ("vanished", "vanished"), ("count", "moved most in count")):
        rows = ngrams[ngrams["change"] == change].astype(object).where(lambda d: d.notna(), None).to_dict(orient="records")
        if rows:
            tables.append(Table(f"diff-{change}", f"N-grams that {label}", [
                Column("n", "n", "int"), Column("ngram", "n-gram"), Column("count_a", "before", "int"),
                Column("count_b", "now", "int"), Column("delta", "change", "int")], rows))
    vocab = pd.read_parquet(folder / "vocab.parquet")
    added = vocab[vocab["change"] == "added"].head(HISTORY_ROWS).to_dict(orient="records")
    if added:
        tables.append(Table("diff-vocab", f"New vocabulary ({(vocab['change'] == 'added').sum():,} tokens, first "
                            f"{len(added)} by count)", [Column("token", "token"), Column("match_count", "count", "int")],
                            added))
    return tables


def since_last(corpus: CorpusStats | None) -> SinceLast | None:
    """The section's content, or None when the run has no snapshot or it is the corpus' first."""
    if corpus is None:
        return None
    frame = corpus_history(corpus)
    if len(frame) < 2 or frame.iloc[-1]["run_id"] != corpus.run_id:
        return None
    now = frame.iloc[-1]
    before = frame[frame["run_id"] == now["previous_run_id"]]
    before = before.iloc[0] if len(before) else frame.iloc[-2]
    folder = corpus.snapshot.parent.parent / "diffs" / f"{before['run_id']}..{now['run_id']}"
    found = folder if (folder / "diff.json").is_file() else None
    reason = _not_comparable(corpus.snapshot.parent / before["run_id"], corpus.snapshot)
    return SinceLast(before["run_id"], now["run_id"], _changes(before, now, reason), _history_table(frame),
                     _diff_tables(found) if found else [], found, reason)


def _not_comparable(a: Path, b: Path) -> str | None:
    try:
        return why_not_comparable(read_manifest(a), read_manifest(b))
    except (CorpusError, OSError, ValueError) as exc:  # the older snapshot was deleted or damaged by hand
        return f"snapshot {a.name} cannot be read ({type(exc).__name__})"
