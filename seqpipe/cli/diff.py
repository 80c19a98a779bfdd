"""`seqpipe diff`: what changed between two snapshots of a corpus, printed and written as Parquet;
`seqpipe history`: a corpus' published snapshots, one line each.

    seqpipe diff SNAPSHOT_A SNAPSHOT_B          two snapshot folders
    seqpipe diff CORPUS [RUN_A RUN_B]           a corpus name (under --out) or folder; default: the two newest

stdout ends with the folder the Parquet files were written to.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from seqpipe.config import Settings
from seqpipe.corpus.errors import CorpusError

if TYPE_CHECKING:  # pandas and the diff code load when a command runs, so other commands start fast
    from seqpipe.ngrams.diff import SnapshotDiff


def resolve_pair(args: list[str], out_root: str | Path) -> tuple[Path, Path]:
    """The two snapshot folders named by `diff`'s arguments (older first)."""
    from seqpipe.ngrams import store
    from seqpipe.ngrams.history import read_history

    if len(args) == 2 and all((Path(a) / "_manifest.json").is_file() for a in args):
        return Path(args[0]), Path(args[1])
    if len(args) not in (1, 3):
        raise CorpusError("give two snapshot folders, or a corpus and optionally two of its run ids")
    first = Path(args[0])
    cdir = first if (first / "LATEST").is_file() else store.corpus_dir(out_root, args[0])
    if len(args) == 3:
        pair = [cdir / "snapshots" / run_id for run_id in args[1:]]
        for path in pair:
            if not (path / "_manifest.json").is_file():
                raise CorpusError(f"{path}: no such snapshot of corpus '{cdir.name}'")
        return pair[0], pair[1]
    runs = read_history(cdir)["run_id"].tolist()
    if len(runs) < 2:
        raise CorpusError(f"corpus '{cdir.name}' has {len(runs)} published snapshot(s) under {cdir}: nothing to compare")
    return cdir / "snapshots" / runs[-2], cdir / "snapshots" / runs[-1]


def diff(
    snapshots: Annotated[list[str], typer.Argument(help="SNAP_A SNAP_B, or CORPUS [RUN_A RUN_B]")],
    out: Annotated[Path | None, typer.Option(help="output root for corpus names (default $SEQPIPE_OUT)")] = None,
    k: Annotated[int, typer.Option("--k", help="n-grams listed per order and kind of change")] = 10,
    dest: Annotated[Path | None, typer.Option(help="folder for the Parquet files (default <corpus>/diffs/A..B)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary line before the path")] = False,
) -> None:
    """Print the n-grams that appeared, vanished and moved most, new vocabulary and changed files; write Parquet."""
    from seqpipe.ngrams import diff as snapshot_diff

    a, b = resolve_pair(snapshots, out or Settings().out)
    found = snapshot_diff.diff_snapshots(a, b, k)
    folder = snapshot_diff.write_diff(found, dest)
    print(format_text(found))
    if as_json:
        print(json.dumps(found.summary(), default=int))
    print(folder)


def format_text(found: SnapshotDiff) -> str:
    """The diff as plain text for a terminal."""
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        lines = [f"corpus {found.corpus}: {found.a.name} -> {found.b.name}", found.orders.to_string(index=False)]
        for (n, change), group in found.ngrams.groupby(["n", "change"], sort=False):
            cols = ["ngram", "count_a", "count_b", "delta"] + (["rank_a", "rank_b"] if change == "rank" else [])
            lines += [f"\n{n}-grams {change}:", group[cols].to_string(index=False)]
        for change, group in found.vocab.groupby("change"):
            lines += [f"\nvocabulary {change} ({len(group):,}):", group[["token", "match_count"]].head(20).to_string(index=False)]
        if len(found.files):
            lines += [f"\nfiles ({len(found.files):,}):", found.files.to_string(index=False)]
    return "\n".join(lines)


def history(
    corpus: Annotated[str, typer.Argument(help="a corpus name (under --out) or a corpus folder")],
    out: Annotated[Path | None, typer.Option(help="output root for corpus names (default $SEQPIPE_OUT)")] = None,
    repair: Annotated[bool, typer.Option(help="rewrite history.parquet with any rows it lacks (a damaged "
                                                "file is kept aside as history.parquet.corrupt-<time>)")] = False,
) -> None:
    """Print a corpus' history, one line per published snapshot; the last line is history.parquet's path."""
    import pandas as pd

    from seqpipe.ngrams import store
    from seqpipe.ngrams.history import HISTORY_FILE, read_history, record

    cdir = Path(corpus) if (Path(corpus) / "LATEST").is_file() else store.corpus_dir(out or Settings().out, corpus)
    if not (cdir / "LATEST").is_file():
        raise CorpusError(f"corpus '{cdir.name}' has no snapshot under {cdir.parent.parent}")
    if repair:
        with store.corpus_lock(cdir):
            record(cdir)
    frame = read_history(cdir)
    cols = ["run_id", "published_at", "trigger", "mode", "files_added", "files_changed", "files_removed", "tokens",
            *(c for c in frame.columns if c.startswith("distinct_") and frame[c].notna().any()), "vocab_size", "wall_s"]
    with pd.option_context("display.width", 250, "display.max_columns", 30):
        print(frame[cols].to_string(index=False))
    print(cdir / HISTORY_FILE)


def register(app: typer.Typer) -> None:
    """Add `diff` and `history`."""
    app.command()(diff)
    app.command()(history)
