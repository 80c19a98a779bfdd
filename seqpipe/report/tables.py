"""Report tables as plain rows: corpus sizes, counts per order, inputs, top n-grams, series errors, run facts.

A `Table` keeps raw values (for Prefect table artifacts and tests) and formats them per column for the
HTML and Markdown reports. The language-model table lives in `lm_table.py`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from seqpipe.report import reference as ref
from seqpipe.report.collect import CorpusStats, RunData
from seqpipe.results import SeriesEntry, SeriesForecastResult

MAX_INPUT_ROWS = 50
TOP_K = 10


@dataclass(frozen=True)
class Column:
    """A column: the row key, its heading, and how its values are written (see `format_cell`)."""

    key: str
    label: str
    fmt: str = "text"
    wrap: bool = False  # long text that may wrap; other cells stay on one line

    @property
    def numeric(self) -> bool:
        """Right-aligned in the report."""
        return self.fmt not in ("text", "link")


@dataclass
class Table:
    """Rows of raw values under named columns, with a note printed below and columns whose minimum is marked."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    note: str = ""
    best_min: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    def records(self) -> list[dict[str, Any]]:
        """JSON-safe rows keyed by column label (non-finite numbers written as text)."""
        def safe(v: Any) -> Any:
            return format_cell(v, "float") if isinstance(v, float) and not math.isfinite(v) else v
        return [{c.label: safe(row.get(c.key)) for c in self.columns} for row in self.rows]

    def cells(self) -> list[list[dict[str, Any]]]:
        """Formatted cells: text, whether numeric, whether the best of its column."""
        best: dict[str, float] = {}
        for key in self.best_min:
            values = [r[key] for r in self.rows if isinstance(r.get(key), (int, float))]
            if len(values) > 1:
                best[key] = min(values)
        return [
            [{"text": format_cell(row.get(c.key), c.fmt), "numeric": c.numeric, "wrap": c.wrap,
              "link": c.fmt == "link" and row.get(c.key) is not None,
              "best": c.key in best and row.get(c.key) == best[c.key]} for c in self.columns]
            for row in self.rows
        ]


def format_cell(value: Any, fmt: str) -> str:
    """A value as the report writes it; missing is an em dash, infinite is ∞.

    >>> [format_cell(v, f) for v, f in [(32775, "int"), (265.9551, "ppl"), (0.062456, "err"), (None, "int")]]
    ['32,775', '265.96', '0.0625', '—']
    >>> format_cell(float("inf"), "ppl"), format_cell(178979, "bytes"), format_cell(0.0421, "seconds")
    ('∞', '174.8 KiB', '0.04 s')
    """
    if value is None or value == "":
        return "—"
    if isinstance(value, float) and math.isnan(value):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if isinstance(value, bool) or fmt in ("text", "link") or not isinstance(value, (int, float)):
        return str(value)
    if fmt == "int":
        return f"{value:,.0f}"
    if fmt == "ppl":
        return f"{value:,.2f}"
    if fmt == "err":
        return f"{value:.4f}" if abs(value) < 100 else f"{value:,.1f}"
    if fmt == "dec3":
        return f"{value:.3f}"
    if fmt == "alpha":
        return f"{value:.2f}"
    if fmt == "pct":
        return f"{value:.1%}"
    if fmt == "seconds":
        return f"{value:.2f} s" if value < 10 else f"{value:,.1f} s"
    if fmt == "bytes":
        for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
            if value >= size:
                return f"{value / size:,.1f} {unit}"
        return f"{value:,.0f} B"
    return f"{value:.4g}"


# --- corpus ------------------------------------------------------------------------------------------------
def corpus_summary(corpus: CorpusStats) -> Table:
    """Files, skipped files, replaced bytes, lines, tokens and vocabulary, beside the book's numbers."""
    s, v = corpus.summary, corpus.vocab
    book = ref.BOOK_CORPUS if ref.is_book_corpus(corpus.config) else {}
    rows = [
        {"what": "input files", "value": s.get("files"), "book": 1 if book else None},
        {"what": "files skipped (binary, unreadable)", "value": s.get("files_skipped"), "book": 0 if book else None},
        {"what": "invalid UTF-8 bytes replaced", "value": s.get("bad_bytes"), "book": 0 if book else None},
        {"what": "lines", "value": s.get("lines"), "book": book.get("lines")},
        {"what": "tokens", "value": s.get("tokens"), "book": book.get("tokens")},
        {"what": "distinct tokens (types)", "value": v.get("distinct_tokens"), "book": book.get("distinct_tokens")},
        {"what": f"vocabulary incl. <unk> (min_freq {v.get('min_freq', 0)})", "value": v.get("size"),
         "book": book.get("vocab")},
    ]
    return Table("corpus-size", "Corpus size", [Column("what", "quantity"), Column("value", "this run", "int"),
                                                 Column("book", "d2l book", "int")], rows,
                 note="Book column: d2l §8.2 on timemachine.txt (d2l cleaning, word tokens)." if book else "")


def order_counts(corpus: CorpusStats) -> Table:
    """Per order: n-gram occurrences, distinct n-grams (types), type/token ratio and Zipf exponents."""
    book = ref.is_book_corpus(corpus.config)
    rows = []
    for n, t in sorted(corpus.totals.items()):
        z = corpus.zipf.get(n, {})
        ratio = t["distinct"] / t["ngrams"] if t.get("ngrams") else None
        rows.append({"order": n, "ngrams": t.get("ngrams"), "distinct": t.get("distinct"), "ratio": ratio,
                     "alpha_all": z.get("alpha_all_ranks"), "alpha_mid": z.get("alpha_ranks_10_1000"),
                     "book_distinct": ref.BOOK_DISTINCT.get(n) if book else None,
                     "book_alpha": "{:.2f} / {:.2f}".format(*ref.BOOK_ZIPF[n]) if book and n in ref.BOOK_ZIPF else None})
    columns = [Column("order", "n", "int"), Column("ngrams", "n-grams (tokens)", "int"),
               Column("distinct", "distinct (types)", "int"), Column("ratio", "types / tokens", "pct"),
               Column("alpha_all", "Zipf α, all ranks", "alpha"), Column("alpha_mid", "Zipf α, ranks 10–1000", "alpha")]
    if book:
        columns += [Column("book_distinct", "book: distinct", "int"), Column("book_alpha", "book: α all / 10–1000")]
    return Table("ngram-orders", "Token and type counts per order", columns, rows,
                 note="Zipf: least-squares slope of log frequency against log rank, n(x) ∝ x^−α.")


def inputs(corpus: CorpusStats) -> Table:
    """One row per input file: size, encoding, lines, tokens, replaced bytes, and why it was skipped."""
    rows = [{"file": f.uri, "size": f.size, "encoding": f.encoding, "lines": f.lines, "tokens": f.tokens,
             "bad": f.bad_bytes, "status": f"skipped: {f.skipped}" if f.skipped else "read"}
            for f in corpus.inputs[:MAX_INPUT_ROWS]]
    more = len(corpus.inputs) - len(rows)
    return Table("corpus-inputs", "Input files", [
        Column("file", "file", wrap=True), Column("size", "size", "bytes"), Column("encoding", "encoding"),
        Column("lines", "lines", "int"), Column("tokens", "tokens", "int"), Column("bad", "bad bytes", "int"),
        Column("status", "status", wrap=True)], rows, note=f"{more:,} more files are listed in _manifest.json." if more > 0 else "")


def top_ngrams(corpus: CorpusStats, k: int = TOP_K) -> Table:
    """The k most frequent n-grams of every order side by side, with whether they match the book's lists."""
    orders = sorted(corpus.top)
    rows = []
    for rank in range(k):
        row: dict[str, Any] = {"rank": rank + 1}
        for n in orders:
            if rank < len(corpus.top[n]):
                row[f"g{n}"], row[f"c{n}"] = corpus.top[n][rank]
        if len(row) > 1:
            rows.append(row)
    columns = [Column("rank", "rank", "int")]
    for n in orders:
        columns += [Column(f"g{n}", f"{n}-gram"), Column(f"c{n}", "count", "int")]
    note = ""
    if ref.is_book_corpus(corpus.config):
        same = ref.matches_book_top10(corpus.top)
        note = "Book's top-10 lists (d2l §8.3): " + ", ".join(
            f"order {n} {'identical' if ok else 'DIFFERENT'}" for n, ok in sorted(same.items())) + "."
    return Table("top-ngrams", f"Top {k} n-grams per order", columns, rows, note=note)


# --- series ------------------------------------------------------------------------------------------------
def _series_row(name: str, kind: str, e: SeriesEntry, metric: str, ks: list[int]) -> dict[str, Any]:
    row: dict[str, Any] = {"model": name, "kind": kind, "params": e.n_parameters}
    for k in ks:
        row[f"k{k}"] = getattr(e.k_step.get(k), metric, None)
    row["one"] = getattr(e.one_step, metric, None)
    row["free"] = getattr(e.free_running, metric, None)
    return row


def series_errors(series: SeriesForecastResult, metric: str = "mse") -> Table:
    """Test error per horizon k for every model and both baselines (lowest per column marked)."""
    ks = sorted({k for e in [*series.models.values(), *series.baselines.values()] for k in e.k_step})
    rows = [_series_row(n, "model", e, metric, ks) for n, e in series.models.items()]
    rows += [_series_row(n.replace("_", " "), "baseline", e, metric, ks) for n, e in series.baselines.items()]
    columns = [Column("model", "model"), Column("kind", "kind"), Column("params", "parameters", "int")]
    columns += [Column(f"k{k}", f"k = {k}", "err") for k in ks]
    columns += [Column("one", "one-step, all test", "err"), Column("free", "free-running", "err")]
    counts = [err.n for entry in [*series.models.values(), *series.baselines.values()] for err in entry.k_step.values()]
    n = f"{counts[0]:,}" if counts else "same"
    floor = ref.noise_floor(series.series)
    note = f"k-step: x[o+k] forecast from x[..o] and the model's own predictions, the same {n} origins for every k (lowest in bold)."
    if floor is not None and metric == "mse":
        note += f" Noise variance (the best possible one-step MSE): {floor:.4g}."
    return Table(f"series-{metric}", f"{metric.upper()} by horizon", columns, rows, note=note,
                 best_min=tuple(c.key for c in columns if c.fmt == "err"))


# --- run facts ---------------------------------------------------------------------------------------------
def timings(run: RunData) -> Table:
    """Seconds per pipeline stage (run.json), then the finer timings each stage recorded."""
    rows: list[dict[str, Any]] = [{"stage": s, "part": "stage total", "seconds": v}
                                  for s, v in (run.info.timings_s if run.info else {}).items()]
    if run.corpus:
        rows += [{"stage": "corpus", "part": part, "seconds": v} for part, v in run.corpus.timings_s.items()]
    rows += [{"stage": "neural LM", "part": f"{m.name} (train + eval)", "seconds": m.wall_s} for m in run.neural]
    if run.series:
        rows += [{"stage": "series", "part": f"{n} (training)", "seconds": e.train_seconds}
                 for n, e in run.series.models.items()]
    return Table("timings", "Timings", [Column("stage", "stage"), Column("part", "part"),
                                        Column("seconds", "wall time", "seconds")], rows)


def versions(run: RunData) -> Table:
    """Python and package versions recorded in run.json."""
    rows = [{"package": k, "version": v} for k, v in (run.info.versions if run.info else {}).items()]
    return Table("versions", "Versions", [Column("package", "package"), Column("version", "version")], rows)
