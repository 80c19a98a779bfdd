"""`runs/index.parquet` and `runs/index.html`: every run with its date, config hash, snapshot and key figures.

Always rebuilt from the run folders (`runs/*/run.json`, `metrics.json`, the series metrics), so it can never
drift from them: `render_report` rebuilds it after writing a run's report, `seqpipe runs-index` on demand.
Both files are written atomically under `runs/.index.lock`. A folder that is not a readable run gets a row
with its `note` and no figures.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from seqpipe import SCHEMA_VERSION
from seqpipe.io import atomic_path, atomic_write_text
from seqpipe.ngrams.history import config_hash
from seqpipe.report.collect import RunData, read_run
from seqpipe.report.tables import format_cell

FAMILIES = ("ngram", "neural")
UNITS = ("word", "char")
HORIZONS = (1, 64)
_FIGURES = [(f"{family}_{what}_{unit}", pa.float64() if what == "ppl" else pa.string())
            for family in FAMILIES for unit in UNITS for what in ("ppl", "model")]
_FIGURES += [(f"series_{what}_k{k}", pa.float64() if what == "mse" else pa.string())
             for k in HORIZONS for what in ("mse", "model")]
SCHEMA = pa.schema(
    [pa.field("run_id", pa.string(), nullable=False), pa.field("date", pa.timestamp("ms", tz="UTC")),
     pa.field("config_hash", pa.string()), pa.field("corpus", pa.string()), pa.field("snapshot", pa.string()),
     *(pa.field(name, kind) for name, kind in _FIGURES), pa.field("report", pa.string()), pa.field("note", pa.string())],
    metadata={"seqpipe.table": "runs-index", "seqpipe.schema_version": str(SCHEMA_VERSION)},
)


def _date(run: RunData) -> datetime | None:
    stamp = (run.info.written_at if run.info else None) or run.metrics.get("report", {}).get("rendered_at")
    return datetime.fromisoformat(stamp) if stamp else None


def _best_lm(run: RunData) -> dict[str, Any]:
    """Lowest test perplexity (incl. OOVs) per family and token unit, from the report's LM table in metrics.json."""
    found: dict[str, Any] = {}
    for row in run.metrics.get("report", {}).get("lm_perplexity", []):
        family, unit, ppl = row.get("family", "").replace("-", ""), row.get("unit"), row.get("ppl_incl")
        key = f"{family}_ppl_{unit}"
        if unit in UNITS and family in FAMILIES and isinstance(ppl, (int, float)) and ppl < found.get(key, float("inf")):
            found[key], found[f"{family}_model_{unit}"] = float(ppl), row.get("name")
    return found


def _best_series(run: RunData) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for k in HORIZONS:
        scored = [(e.k_step[k].mse, name) for name, e in (run.series.models if run.series else {}).items()
                  if k in e.k_step and e.k_step[k].mse is not None]
        if scored:
            found[f"series_mse_k{k}"], found[f"series_model_k{k}"] = min(scored)
    return found


def index_row(run_dir: Path) -> dict[str, Any]:
    """One run's row: when, which config and snapshot, the key figures and its report (relative link)."""
    try:
        run = read_run(run_dir)
    except (OSError, ValueError) as exc:
        return {"run_id": run_dir.name, "note": " ".join(str(exc).split())[:300]}
    report = run_dir / "report.html"
    return {
        "run_id": run_dir.name, "date": _date(run),
        "config_hash": config_hash(run.info.config) if run.info and run.info.config else None,
        "corpus": run.corpus.corpus if run.corpus else None, "snapshot": run.corpus.run_id if run.corpus else None,
        **_best_lm(run), **_best_series(run),
        "report": f"{run_dir.name}/report.html" if report.is_file() else None,
        "note": "; ".join(run.problems) or None,
    }


def build_index(runs_dir: str | Path) -> pa.Table:
    """Rows of every run folder under `runs_dir`, newest run id first."""
    folders = sorted((p for p in Path(runs_dir).iterdir() if p.is_dir() and not p.name.startswith(".")), reverse=True)
    return pa.Table.from_pylist([index_row(p) for p in folders], schema=SCHEMA)


def _html(table: pa.Table) -> str:
    columns = [("run_id", "run", "text"), ("date", "date (UTC)", "text"), ("config_hash", "config", "text"),
               ("corpus", "corpus", "text"), ("snapshot", "snapshot", "text"),
               *((f"{f}_ppl_{u}", f"best {f.replace('ngram', 'n-gram')} ppl ({u})", "ppl") for f in FAMILIES for u in UNITS),
               *((f"series_mse_k{k}", f"series MSE, k = {k}", "err") for k in HORIZONS), ("note", "note", "text")]
    rows = []
    for r in table.to_pylist():
        r["date"] = f"{r['date']:%Y-%m-%d %H:%M}" if r["date"] else None
        cells = [(format_cell(r[key], fmt), fmt != "text", r.get(key.replace("_ppl_", "_model_").replace("_mse_", "_model_")))
                 for key, _, fmt in columns]
        rows.append({"cells": cells, "report": r["report"], "run_id": r["run_id"]})
    env = jinja2.Environment(loader=jinja2.PackageLoader("seqpipe.report", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    return env.get_template("runs_index.html.j2").render(columns=[label for _, label, _ in columns], rows=rows)


def write_index(runs_dir: str | Path) -> tuple[Path, Path]:
    """Rebuild `index.parquet` and `index.html` in `runs_dir` from its run folders; return their paths."""
    runs = Path(runs_dir)
    if not runs.is_dir():
        raise FileNotFoundError(f"{runs}: no such runs folder")
    with FileLock(str(runs / ".index.lock")):
        table = build_index(runs)
        with atomic_path(runs / "index.parquet") as tmp:
            pq.write_table(table, tmp, compression="zstd")
        html = atomic_write_text(runs / "index.html", _html(table))
    return runs / "index.parquet", html


def update_for(run_dir: str | Path) -> tuple[Path, Path] | None:
    """Rebuild the index of the `runs/` folder holding `run_dir`; None when it is not inside one."""
    parent = Path(run_dir).resolve().parent
    return write_index(parent) if parent.name == "runs" else None
