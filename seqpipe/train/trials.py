"""A grid of language-model trainings: comma lists of options -> one trial per combination -> `trials.parquet`.

Every trial trains into `models/<trial name>/` (checkpoint, metrics) and gives one row of
`trials.parquet` (name, the varying options, config JSON, valid / test perplexity, tokens/s, wall,
status, reason, restarts, best). A trial that raises (NaN loss, out of memory, ...) is a `failed` row with
its reason; the others go on. A trial started again after its worker died (Dask reruns it) resumes from
its last checkpoint. The best trial by validation perplexity is marked and named in `best.json`, which
`generate RUN_DIR` and the report follow.

Trials run one after another, or on Dask workers (`run_trials(..., workers=N)`: a `LocalCluster` on
127.0.0.1, or the scheduler at `address`), each with `threads = cores // workers` torch threads so the
workers never oversubscribe the cores. The Prefect flow runs the same `run_trial` as tasks instead.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from seqpipe.fields import fields_of
from seqpipe.io import atomic_path, atomic_write_text
from seqpipe.train.allocator import DASK_PRELOAD
from seqpipe.train.config import LMRunConfig

# option -> (config section, field) of the fields marked `grid` (`seqpipe.config.cli`): a comma list of values
# makes one trial per value
GRID_FIELDS: dict[str, tuple[str, ...]] = {s.key: s.path for s in fields_of(LMRunConfig) if s.grid}
_SHORT = {"model": "", "hidden": "h", "layers": "l", "embedding": "e", "dropout": "d", "weight_drop": "wd", "softmax": "",
          "lr": "lr", "batch": "b", "steps": "s", "optimizer": "", "schedule": "", "seed": "seed", "clip": "c"}
TRIALS_FILE, BEST_FILE = "trials.parquet", "best.json"


def split_list(value: Any) -> list[Any]:
    """A comma list as its items (stripped); anything else as a one-item list.

    >>> split_list("gru, lstm"), split_list(3)
    (['gru', 'lstm'], [3])
    """
    if isinstance(value, str) and "," in value:
        items = [v.strip() for v in value.split(",")]
        if any(not v for v in items):
            raise ValueError(f"{value!r}: an empty item in a comma list")
        return items
    return [value]


def grid(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """Options split into fixed ones and the grid-able ones given as comma lists."""
    fixed, axes = {}, {}
    for key, value in options.items():
        items = split_list(value) if key in GRID_FIELDS else [value]
        (axes if len(items) > 1 else fixed)[key] = items if len(items) > 1 else items[0]
    return fixed, axes


def trial_name(values: dict[str, Any]) -> str:
    """A folder name from the varying options, e.g. `gru-h128-lr0.002`.

    >>> trial_name({"model": "gru", "hidden": "128", "lr": "2e-3"})
    'gru-h128-lr0.002'
    """
    parts = []
    for key, value in values.items():
        text = str(value)
        try:
            number = float(text)
            text = f"{number:g}" if key in ("lr", "dropout", "weight_drop", "clip") else text
        except ValueError:
            pass
        parts.append(f"{_SHORT.get(key, key)}{text}")
    return re.sub(r"[^A-Za-z0-9._-]", "_", "-".join(parts))


def expand(build: Callable[[dict[str, Any], str | None], LMRunConfig], options: dict[str, Any],
           name: str | None = None) -> list[LMRunConfig]:
    """Every combination of the comma lists in `options` as a validated config (all checked before any runs).

    `build(options, name)` makes one config from single values (the CLI's `build_config`).
    """
    fixed, axes = grid(options)
    if not axes:
        return [build(fixed, name)]
    keys = list(axes)
    configs = []
    for combo in itertools.product(*(axes[k] for k in keys)):
        values = dict(zip(keys, combo))
        label = trial_name(values)
        try:
            configs.append(build({**fixed, **values}, f"{name}-{label}" if name else label))
        except ValueError as exc:
            raise ValueError(f"grid trial {label}: {' '.join(str(exc).split())}") from None
    return configs


def run_trial(
    cfg_doc: dict[str, Any],
    out_dir: str,
    threads: int | None = None,
    on_epoch: Callable[[Any], None] | None = None,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, Any]:
    """Train one trial (resuming from its checkpoint if one is there) and return its `trials.parquet` row."""
    import torch

    from seqpipe.train.checkpoint import NonFiniteError, load_checkpoint
    from seqpipe.train.run import train_lm

    cfg = LMRunConfig.model_validate(cfg_doc)
    if threads:
        cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"threads": threads})})
    model_dir = Path(out_dir) / "models" / cfg.model_name
    model_dir.mkdir(parents=True, exist_ok=True)
    attempts = _bump(model_dir / "attempts")
    checkpoint = model_dir / "checkpoint.pt"
    resume = checkpoint if checkpoint.is_file() and attempts > 1 else None
    if resume is not None:
        try:
            load_checkpoint(resume)
        except ValueError:
            resume = None  # a torn or foreign file: start over
    row: dict[str, Any] = {"name": cfg.model_name, "config": json.dumps(cfg.model_dump(mode="json")),
                           "restarts": attempts - 1, "status": "ok", "reason": ""}
    started = time.perf_counter()
    row["started_at"] = time.time()
    try:
        summary = train_lm(cfg, out_dir, resume=resume, on_epoch=on_epoch, on_progress=on_progress).to_dict()
        row.update({k: summary.get(k) for k in ("valid_ppl", "test_ppl", "tokens_per_s", "epochs", "stopped",
                                               "params", "valid_sampled", "test_sampled", "checkpoint",
                                               "temperature")})
    except (NonFiniteError, torch.OutOfMemoryError, RuntimeError, ValueError, OSError) as exc:
        row.update(status="failed", reason=f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    row["wall_s"] = time.perf_counter() - started
    row["finished_at"] = time.time()
    atomic_write_text(model_dir / "trial.json", json.dumps(row))
    return row


def _bump(path: Path) -> int:
    """Increment a small counter file and return the new value (how often this trial has started)."""
    n = int(path.read_text()) + 1 if path.is_file() else 1
    atomic_write_text(path, str(n))
    return n


def write_trials(rows: list[dict[str, Any]], out_dir: str | Path, axes: list[str] | None = None) -> Path:
    """Write `trials.parquet` (marking the best valid perplexity among finished trials) and `best.json`."""
    table = pd.DataFrame(rows)
    for key in axes or []:
        table[key] = [json.loads(c)[GRID_FIELDS[key][0]][GRID_FIELDS[key][1]] for c in table["config"]]
    ok = table[(table["status"] == "ok") & table.get("valid_ppl", pd.Series(dtype=float)).notna()]
    table["best"] = False
    if len(ok):
        best = ok["valid_ppl"].astype(float).idxmin()
        table.loc[best, "best"] = True
        row = table.loc[best]
        atomic_write_text(Path(out_dir) / BEST_FILE, json.dumps(
            {"name": row["name"], "valid_ppl": float(row["valid_ppl"]), "checkpoint": row.get("checkpoint")}))
    path = Path(out_dir) / TRIALS_FILE
    with atomic_path(path) as tmp:
        table.to_parquet(tmp, index=False)
    return path


def run_trials(
    configs: list[LMRunConfig],
    out_dir: str | Path,
    workers: int = 1,
    address: str | None = None,
    on_row: Callable[[dict[str, Any]], None] | None = None,
    on_epoch: Callable[[Any], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every trial (in this process, or on Dask workers) and write `trials.parquet` as they finish."""
    out = str(out_dir)
    axes = varying_options(configs)
    rows: list[dict[str, Any]] = []

    def done(row: dict[str, Any]) -> None:
        rows.append(row)
        write_trials(rows, out, axes)
        if on_row is not None:
            on_row(row)

    docs = [c.model_dump(mode="json") for c in configs]
    if workers <= 1 and address is None:
        for doc in docs:
            done(run_trial(doc, out, on_epoch=on_epoch))
        return rows
    from dask.distributed import Client, LocalCluster, as_completed

    threads = threads_per_worker(workers)
    cluster = None if address else LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
        preload=[DASK_PRELOAD],  # malloc tuned before the training thread allocates (train/allocator.py)
    )
    with Client(address or cluster) as client:
        futures = client.map(run_trial, docs, out_dir=out, threads=threads, on_epoch=on_epoch, pure=False)
        for future in as_completed(futures):
            done(future.result())
    if cluster is not None:
        cluster.close()
    return rows


def threads_per_worker(workers: int) -> int:
    """Torch threads per worker so `workers` trainings never oversubscribe the cores."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def varying_options(configs: list[LMRunConfig]) -> list[str]:
    """Grid options whose value differs between the configs."""
    docs = [c.model_dump() for c in configs]
    return [k for k, (sec, field) in GRID_FIELDS.items() if len({str(d[sec][field]) for d in docs}) > 1]


def best_trial(run_dir: str | Path) -> Path | None:
    """The checkpoint of the run's best trial (`best.json`), or None when the run has no trials."""
    path = Path(run_dir) / BEST_FILE
    if not path.is_file():
        return None
    return Path(run_dir) / "models" / json.loads(path.read_text())["name"] / "checkpoint.pt"
