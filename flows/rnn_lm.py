"""Flow `rnn-lm`: train RNN / GRU / LSTM language models on one corpus and publish their perplexities.

With `grid` (option -> list of values) or `workers > 1` every combination is a trial, run as Prefect tasks
on prefect-dask's `DaskTaskRunner` (a LocalCluster on 127.0.0.1, or the cluster at SEQPIPE_DASK_ADDRESS);
each trial writes its checkpoint and one row of `trials.parquet`, the best by valid perplexity is marked.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import flow

from seqpipe.config import Settings
from seqpipe.io import new_run_id
from seqpipe.results import NeuralLMResult
from seqpipe.train.allocator import DASK_PRELOAD
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.trials import GRID_FIELDS, expand, threads_per_worker, varying_options, write_trials
from tasks.rnn_lm import publish_perplexity_table, train_rnn_lm, train_trial

# Frozen pydantic models: safe to share as defaults.
DATA, MODEL, TRAIN = LMDataConfig(), LMModelConfig(), LMTrainConfig(threads=1)


def _configs(data: LMDataConfig, models: list[str], model: LMModelConfig, train: LMTrainConfig,
             grid: dict[str, list[Any]]) -> list[LMRunConfig]:
    """Every model kind x grid combination as a validated config (one-line error on a bad value)."""
    unknown = sorted(set(grid) - set(GRID_FIELDS))
    if unknown:
        raise ValueError(f"grid options {', '.join(unknown)}: use {', '.join(GRID_FIELDS)}")

    def build(opts: dict[str, Any], name: str | None) -> LMRunConfig:
        doc = {"data": data.model_dump(), "model": model.model_dump(), "train": train.model_dump(), "name": name}
        for key, value in opts.items():
            section, field = GRID_FIELDS[key]
            doc[section][field] = value
        return LMRunConfig.model_validate(doc)

    options = {"model": ",".join(models), **{k: ",".join(map(str, v)) for k, v in grid.items()}}
    return expand(build, options)


@flow(name="rnn-lm-trials", log_prints=True)
def rnn_lm_trials(configs: list[LMRunConfig], out: str, workers: int = 2) -> list[dict[str, Any]]:
    """Run trials as tasks on the flow's task runner; write trials.parquet."""
    threads = threads_per_worker(workers)
    futures = [train_trial.submit(c.model_dump(mode="json"), out, threads) for c in configs]
    rows = [f.result() for f in futures]
    write_trials(rows, out, varying_options(configs))
    return rows


def _dask_runner(workers: int):
    from prefect_dask import DaskTaskRunner

    address = os.environ.get("SEQPIPE_DASK_ADDRESS")
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                                          "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0",
                                          "preload": [DASK_PRELOAD]})


@flow(name="rnn-lm", log_prints=True)
def rnn_lm(
    data: LMDataConfig = DATA,
    models: tuple[str, ...] = ("rnn", "gru", "lstm"),
    model: LMModelConfig = MODEL,
    train: LMTrainConfig = TRAIN,
    out: str | None = None,
    snapshot: str | None = None,
    grid: dict[str, list[Any]] | None = None,
    workers: int = 1,
) -> list[NeuralLMResult] | list[dict[str, Any]]:
    """Train each model kind (x each grid combination) with the same data; one table of perplexities.

    `snapshot`: train on that snapshot's memory-mapped token ids (what the pipeline passes). Returns each
    model's result, or with a grid the trials' rows (trials.parquet).
    """
    run_dir = out or str(Path(Settings().out) / "runs" / new_run_id())
    if snapshot:
        from seqpipe.train.snapshot_data import snapshot_unit

        data = data.model_copy(update={"snapshot": snapshot, "tokens": snapshot_unit(snapshot)})
    configs = _configs(data, list(models), model, train, grid or {})
    if grid or workers > 1:
        runner = _dask_runner(workers) if workers > 1 or os.environ.get("SEQPIPE_DASK_ADDRESS") else None
        trials = rnn_lm_trials.with_options(task_runner=runner) if runner else rnn_lm_trials
        rows = trials(configs, run_dir, workers)
        publish_perplexity_table([{**r, "model": r["name"]} for r in rows])
        return rows
    results = [train_rnn_lm(cfg, run_dir) for cfg in configs]
    publish_perplexity_table([r.summary() for r in results])
    return results


if __name__ == "__main__":
    for row in rnn_lm():
        print(row.name, row.valid_ppl, row.test_ppl)
