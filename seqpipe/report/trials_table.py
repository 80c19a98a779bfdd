"""The report's table of training trials (`trials.parquet`, written by a `train-lm` grid or the rnn-lm flow)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from seqpipe.report.tables import Column, Table

TRIAL_AXES = (("model", "kind"), ("model", "hidden"), ("model", "layers"), ("model", "embedding"),
              ("model", "softmax"), ("train", "lr"), ("train", "batch_size"), ("train", "num_steps"))


def _setting(config: str) -> str:
    """A trial's model and training settings in one short cell."""
    try:
        doc = json.loads(config)
    except (TypeError, ValueError):
        return ""
    return ", ".join(f"{field} {doc[sec][field]}" for sec, field in TRIAL_AXES if field in doc.get(sec, {}))


def trials_table(run_dir: str | Path) -> Table:
    """One row per trial, best (lowest valid perplexity) marked; empty when the run has no trials."""
    path = Path(run_dir) / "trials.parquet"
    rows: list[dict[str, Any]] = []
    if path.is_file():
        import pandas as pd

        for r in pd.read_parquet(path).to_dict("records"):
            rows.append({
                "name": f"{r['name']} ★" if r.get("best") else r["name"], "settings": _setting(r.get("config")),
                "valid_ppl": r.get("valid_ppl"), "test_ppl": r.get("test_ppl"), "speed": r.get("tokens_per_s"),
                "wall": r.get("wall_s"), "restarts": r.get("restarts"),
                "status": r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('reason', '')}",
            })
    return Table("trials", "Training trials", [
        Column("name", "trial"), Column("settings", "settings", wrap=True), Column("valid_ppl", "valid ppl", "ppl"),
        Column("test_ppl", "test ppl", "ppl"), Column("speed", "tokens / s", "int"),
        Column("wall", "wall time", "seconds"), Column("restarts", "restarts", "int"),
        Column("status", "status", wrap=True),
    ], rows, note="★ the best trial by validation perplexity: what the report's samples and `generate RUN_DIR` use.",
        best_min=("valid_ppl", "test_ppl"))
