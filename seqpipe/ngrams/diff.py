"""What changed between two snapshots of one corpus: n-grams, vocabulary and input files.

Per order, DuckDB joins the two snapshots' Parquet n-grams (out of core) and keeps the k n-grams that
appeared (by new count), vanished (by old count), moved most in count (|Δ match_count|) and moved most
in rank (largest rank ratio among the n-grams in the top `RANK_WINDOW` of both snapshots; ranks are "min"
ranks by match_count, so the long tail of ties, where ranks jump by thousands when a corpus grows, is left
out). Written as

    <corpus>/diffs/<run_a>..<run_b>/{ngrams,orders,vocab,files}.parquet, diff.json (written last)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seqpipe import SCHEMA_VERSION
from seqpipe.corpus.errors import CorpusError
from seqpipe.io import atomic_path, write_json
from seqpipe.ngrams.schema import WORD_COLUMNS
from seqpipe.ngrams.store import ensure_inside, read_manifest, resolve_snapshot

RANK_WINDOW = 1000
CHANGES = ("appeared", "vanished", "count", "rank")


@dataclass
class SnapshotDiff:
    """The changes from snapshot `a` to snapshot `b` of one corpus."""

    corpus: str
    a: Path
    b: Path
    ngrams: pd.DataFrame  # n, change, ngram, count_a, count_b, delta, rank_a, rank_b, rank_delta
    orders: pd.DataFrame  # n, distinct_a, distinct_b, ngrams_a, ngrams_b, appeared, vanished
    vocab: pd.DataFrame  # change (added | removed), token, match_count
    files: pd.DataFrame  # uri, change (added | removed | changed), lines/tokens/size _a and _b

    def summary(self) -> dict[str, Any]:
        """Headline figures: run ids, per-order totals, vocabulary and file changes."""
        return {"corpus": self.corpus, "run_a": self.a.name, "run_b": self.b.name,
                "orders": self.orders.to_dict(orient="records"),
                "vocab": {c: int((self.vocab["change"] == c).sum()) for c in ("added", "removed")},
                "files": {c: int((self.files["change"] == c).sum()) for c in ("added", "changed", "removed")}}


def why_not_comparable(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """Why two snapshot manifests cannot be compared, or None when they can.

    >>> why_not_comparable({"corpus": "x", "config": {}}, {"corpus": "y", "config": {}})
    "snapshots of different corpora ('x' and 'y')"
    """
    if a.get("corpus") != b.get("corpus"):
        return f"snapshots of different corpora ({a.get('corpus')!r} and {b.get('corpus')!r})"
    ta, tb = a.get("config", {}).get("text", {}), b.get("config", {}).get("text", {})
    if ta != tb:
        what = ", ".join(f"{k} {ta.get(k)} vs {tb.get(k)}" for k in sorted(set(ta) | set(tb)) if ta.get(k) != tb.get(k))
        return f"the text configs differ ({what}): the tokens are not the same"
    if not set(a.get("totals", {})) & set(b.get("totals", {})):
        return "the snapshots share no n-gram order"
    return None


def _order_diff(con: duckdb.DuckDBPyConnection, a: Path | str, b: Path | str, n: int, k: int) -> tuple[pd.DataFrame, dict[str, int]]:
    words = list(WORD_COLUMNS[:n])
    cols, key = ", ".join(words), " || ' ' || ".join(words)
    side = ("SELECT {cols}, match_count, rank() OVER (ORDER BY match_count DESC) AS rk "
            "FROM read_parquet('{path}/ngrams/n={n}/*.parquet')")
    a, b = (str(p).replace("'", "''") for p in (a, b))  # a quote in a path must not end the SQL string
    con.execute(f"""CREATE OR REPLACE TEMP TABLE j AS
        SELECT {key} AS ngram, x.match_count AS count_a, y.match_count AS count_b, x.rk AS rank_a, y.rk AS rank_b
        FROM ({side.format(cols=cols, path=a, n=n)}) x FULL OUTER JOIN ({side.format(cols=cols, path=b, n=n)}) y
        USING ({cols})""")
    picks = {
        "appeared": "count_a IS NULL ORDER BY count_b DESC, ngram",
        "vanished": "count_b IS NULL ORDER BY count_a DESC, ngram",
        "count": "count_a <> count_b ORDER BY abs(count_b - count_a) DESC, ngram",
        "rank": f"rank_a <> rank_b AND greatest(rank_a, rank_b) <= {RANK_WINDOW} "
                "ORDER BY abs(ln(rank_b) - ln(rank_a)) DESC, abs(rank_b - rank_a) DESC, ngram",
    }
    parts = [con.execute(f"SELECT {n} AS n, '{change}' AS change, ngram, count_a, count_b, "
                         f"coalesce(count_b, 0) - coalesce(count_a, 0) AS delta, rank_a, rank_b, "
                         f"rank_b - rank_a AS rank_delta FROM j WHERE {where} LIMIT {k}").df()
             for change, where in picks.items()]
    da, db, appeared, vanished = con.execute(
        "SELECT count(count_a), count(count_b), count(*) FILTER (count_a IS NULL), "
        "count(*) FILTER (count_b IS NULL) FROM j").fetchone()
    return pd.concat(parts, ignore_index=True), {"n": n, "distinct_a": da, "distinct_b": db,
                                                 "appeared": appeared, "vanished": vanished}


def _vocab(a: Path, b: Path) -> pd.DataFrame:
    va, vb = (pd.read_parquet(p / "vocab.parquet", columns=["token", "match_count"]) for p in (a, b))
    both = va.merge(vb, on="token", how="outer", suffixes=("_a", "_b"), indicator=True)
    added = both[both["_merge"] == "right_only"].assign(change="added", match_count=lambda d: d["match_count_b"])
    removed = both[both["_merge"] == "left_only"].assign(change="removed", match_count=lambda d: d["match_count_a"])
    out = pd.concat([added, removed])[["change", "token", "match_count"]]
    out = out.astype({"match_count": "int64"}).sort_values(["change", "match_count", "token"],
                                                           ascending=[True, False, True], kind="stable")
    return out.reset_index(drop=True)


def _files(ma: dict[str, Any], mb: dict[str, Any]) -> pd.DataFrame:
    fields = ["uri", "sha256", "size", "lines", "tokens"]
    fa, fb = (pd.DataFrame([{f: i.get(f) for f in fields} for i in m.get("inputs", [])], columns=fields) for m in (ma, mb))
    both = fa.merge(fb, on="uri", how="outer", suffixes=("_a", "_b"), indicator=True)
    both["change"] = both["_merge"].map({"left_only": "removed", "right_only": "added", "both": "changed"}).astype(str)
    both = both[(both["change"] != "changed") | (both["sha256_a"] != both["sha256_b"])]
    cols = ["uri", "change", "size_a", "size_b", "lines_a", "lines_b", "tokens_a", "tokens_b"]
    return both[cols].astype({c: "Int64" for c in cols[2:]}).sort_values(["change", "uri"]).reset_index(drop=True)


def diff_snapshots(a: str | Path, b: str | Path, k: int = 10) -> SnapshotDiff:
    """Compare snapshot `a` (older) with `b`; a pair that cannot be compared is a one-line CorpusError."""
    if k < 1:
        raise ValueError(f"k={k}: must be at least 1")
    a, b = resolve_snapshot(a), resolve_snapshot(b)
    ma, mb = read_manifest(a), read_manifest(b)
    reason = why_not_comparable(ma, mb)
    if reason:
        raise CorpusError(f"cannot compare {a.name} and {b.name}: {reason}")
    orders = sorted(set(ma["totals"]) & set(mb["totals"]), key=int)
    con = duckdb.connect()
    try:
        con.execute("SET threads TO 2")
        found = [_order_diff(con, a, b, int(n), k) for n in orders]
    except duckdb.Error as exc:  # a missing or damaged Parquet file of either snapshot
        raise CorpusError(f"cannot compare {a.name} and {b.name}: {' '.join(str(exc).split())[:300]}") from None
    finally:
        con.close()
    totals = pd.DataFrame([{**t, "ngrams_a": ma["totals"][str(t["n"])]["ngrams"],
                            "ngrams_b": mb["totals"][str(t["n"])]["ngrams"]} for _, t in found])
    ngrams = pd.concat([f for f, _ in found], ignore_index=True).astype(
        {c: "Int64" for c in ("count_a", "count_b", "delta", "rank_a", "rank_b", "rank_delta")})
    return SnapshotDiff(mb["corpus"], a, b, ngrams, totals, _vocab(a, b), _files(ma, mb))


def default_folder(diff: SnapshotDiff) -> Path:
    """`<corpus>/diffs/<run_a>..<run_b>` beside the snapshots."""
    return diff.b.parent.parent / "diffs" / f"{diff.a.name}..{diff.b.name}"


def _write_parquet(frame: pd.DataFrame, path: Path, table: str) -> None:
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    arrow = arrow.replace_schema_metadata({**(arrow.schema.metadata or {}), b"seqpipe.table": table.encode(),
                                           b"seqpipe.schema_version": str(SCHEMA_VERSION).encode()})
    with atomic_path(path) as tmp:
        pq.write_table(arrow, tmp, compression="zstd")


def write_diff(diff: SnapshotDiff, folder: str | Path | None = None) -> Path:
    """Write the diff's tables as Parquet and `diff.json` (last) into `folder`; return the folder."""
    out = Path(folder) if folder else default_folder(diff)
    if not folder:  # inside the output root: a symlinked `diffs/` must not lead the writes elsewhere
        ensure_inside(diff.b.parent.parent, out)
    for name in ("ngrams", "orders", "vocab", "files"):
        _write_parquet(getattr(diff, name), out / f"{name}.parquet", f"snapshot-diff-{name}")
    write_json(out / "diff.json", {**diff.summary(), "snapshot_a": diff.a, "snapshot_b": diff.b,
                                   "rank_window": RANK_WINDOW}, kind="snapshot-diff")
    return out


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:,}" if isinstance(value, int) else str(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of a small frame (pipes escaped)."""
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = ("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |"
            for row in frame.astype(object).itertuples(index=False))
    return head + "\n".join(rows) + "\n"


def to_markdown(diff: SnapshotDiff, k: int = 10) -> str:
    """The diff as Markdown: per-order totals, then per order the n-grams of each change, vocabulary, files."""
    parts = [f"# Corpus `{diff.corpus}`: `{diff.a.name}` → `{diff.b.name}`\n", markdown_table(diff.orders)]
    for (n, change), group in diff.ngrams.groupby(["n", "change"], sort=False):
        cols = ["ngram", "count_a", "count_b", "delta"] + (["rank_a", "rank_b", "rank_delta"] if change == "rank" else [])
        parts.append(f"\n## {n}-grams: {change}\n\n" + markdown_table(group[cols].head(k)))
    for change, group in diff.vocab.groupby("change"):
        parts.append(f"\n## vocabulary {change} ({len(group):,})\n\n" + markdown_table(group[["token", "match_count"]].head(k)))
    if len(diff.files):
        parts.append(f"\n## files ({len(diff.files):,})\n\n" + markdown_table(diff.files.head(50)))
    return "".join(parts)
