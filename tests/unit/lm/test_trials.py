"""Grids of trainings: expansion and one-line errors, trials.parquet, failures, best, a killed worker's restart."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from lm_snapshots import make_snapshot, pattern_lines

from seqpipe.cli import main
from seqpipe.train.config import LMRunConfig
from seqpipe.train.trials import GRID_FIELDS, expand, run_trial, run_trials, trial_name

TINY = ["--embedding", "8", "--batch", "4", "--steps", "5", "--epochs", "2", "--threads", "1",
        "--optimizer", "adam"]


@pytest.fixture
def snap(tmp_path):
    return make_snapshot(tmp_path / "snap", {"train": pattern_lines(300), "valid": pattern_lines(30, 1),
                                             "test": pattern_lines(30, 2)})


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _build(opts, name):
    doc = {"data": {"tokens": "word"}, "model": {}, "train": {"epochs": 1}}
    for key, (sec, field) in {"model": ("model", "kind"), "hidden": ("model", "hidden"),
                              "lr": ("train", "lr")}.items():
        if opts.get(key) is not None:
            doc[sec][field] = opts[key]
    return LMRunConfig.model_validate({**doc, "name": name})


def test_comma_lists_expand_to_every_combination_with_readable_names():
    cfgs = expand(_build, {"model": "gru,lstm", "hidden": "8,16", "lr": "2e-3"})
    assert [c.model_name for c in cfgs] == ["gru-h8", "gru-h16", "lstm-h8", "lstm-h16"]
    assert {c.train.lr for c in cfgs} == {0.002} and {c.model.hidden for c in cfgs} == {8, 16}
    assert trial_name({"lr": "5e-3", "model": "gru"}) == "lr0.005-gru"
    with pytest.raises(ValueError, match="grid trial h-4"):
        expand(_build, {"hidden": "8,-4"})


def test_an_invalid_grid_value_is_one_line_before_any_training(tmp_path, snap, capsys):
    code, _, err = cli(capsys, "train-lm", "--snapshot", str(snap), "--model", "gru,lstm", "--hidden", "8,0",
                       "--out", str(tmp_path / "run"), *TINY)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "grid trial" in err
    assert not (tmp_path / "run").exists()


def test_a_grid_writes_trials_marks_the_best_and_generate_follows_it(tmp_path, snap, capsys):
    run = tmp_path / "run"
    code, out, err = cli(capsys, "train-lm", "--snapshot", str(snap), "--model", "gru,lstm", "--hidden", "8",
                         "--lr", "1e-2,1e-3", "--out", str(run), *TINY)
    assert code == 0, err
    table = pd.read_parquet(run / "trials.parquet")
    assert len(table) == 4 and set(table["status"]) == {"ok"} and table["best"].sum() == 1
    assert {"model", "lr", "valid_ppl", "test_ppl", "tokens_per_s", "wall_s", "config"} <= set(table.columns)
    best = table.loc[table["best"]].iloc[0]
    assert best["valid_ppl"] == table["valid_ppl"].min()
    assert json.loads((run / "best.json").read_text())["name"] == best["name"]
    code, out, err = cli(capsys, "generate", str(run), "--prefix", "w01 w02", "--n", "3")
    assert code == 0, err and len(out.split()) == 5


def test_a_failing_trial_is_marked_failed_with_its_reason_and_the_others_finish(tmp_path, snap):
    good = _snapshot_cfg(snap, "good", batch_size=4)
    bad = _snapshot_cfg(snap, "bad", batch_size=100_000)  # no minibatch fits: raises in training
    rows = run_trials([good, bad], tmp_path / "run")
    table = pd.read_parquet(tmp_path / "run" / "trials.parquet").set_index("name")
    assert table.loc["good", "status"] == "ok" and table.loc["good", "best"]
    assert table.loc["bad", "status"] == "failed" and "minibatch" in table.loc["bad", "reason"]
    assert len(rows) == 2


def _snapshot_cfg(snap, name: str, **train) -> LMRunConfig:
    return LMRunConfig.model_validate({
        "name": name, "data": {"snapshot": str(snap), "tokens": "word"},
        "model": {"kind": "gru", "hidden": 8, "embedding": 8},
        "train": {"num_steps": 5, "epochs": 3, "threads": 1, "optimizer": "adam", "lr": 0.01,
                  "batch_size": 4, **train},
    })


def test_a_trial_started_again_resumes_from_its_checkpoint(tmp_path, snap):
    cfg = _snapshot_cfg(snap, "t", epochs=2)
    first = run_trial(cfg.model_dump(mode="json"), str(tmp_path))
    assert first["restarts"] == 0 and first["epochs"] == 2
    longer = cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 3})})
    again = run_trial(longer.model_dump(mode="json"), str(tmp_path))  # as Dask does after a worker died
    assert again["restarts"] == 1 and again["epochs"] == 3
    history = json.loads((tmp_path / "models" / "t" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]  # epochs 1-2 came from the checkpoint


def die_after_first_epoch(marker: str):
    """on_epoch hook for the worker-death test: kill the process once, after epoch 1's checkpoint."""

    def hook(record):
        if record.epoch == 1 and not os.path.exists(marker):
            open(marker, "w").close()
            os._exit(1)

    return hook


@pytest.mark.slow
def test_a_killed_worker_restarts_the_trial_from_its_last_checkpoint(tmp_path, snap):
    marker = str(tmp_path / "died")
    cfg = _snapshot_cfg(snap, "victim", epochs=3)
    rows = run_trials([cfg], tmp_path / "run", workers=2, on_epoch=die_after_first_epoch(marker))
    assert os.path.exists(marker)  # the worker really died once
    row = rows[0]
    assert row["status"] == "ok" and row["restarts"] == 1 and row["epochs"] == 3
    history = json.loads((tmp_path / "run" / "models" / "victim" / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]


def test_the_report_lists_the_trials_with_the_best_marked(tmp_path, snap):
    from seqpipe.report.render import render_report

    cfgs = [_snapshot_cfg(snap, "a", epochs=1), _snapshot_cfg(snap, "b", epochs=1, batch_size=100_000)]
    run_trials(cfgs, tmp_path / "run")
    paths = render_report(tmp_path / "run", samples=False)
    md = paths.markdown.read_text()
    assert "Training trials" in md and "a ★" in md
    assert "b" in md and "failed: ValueError" in md


def test_a_mid_epoch_checkpoint_resumes_the_epoch_where_it_stopped(tmp_path, snap):
    cfg = _snapshot_cfg(snap, "m", epochs=1, checkpoint_minutes=1e-6)  # checkpoint after every step
    from seqpipe.train.run import train_lm

    whole = train_lm(cfg, tmp_path / "whole")

    def crash(phase, done, total):
        if phase == "train" and done == 30:
            raise KeyboardInterrupt("killed mid-epoch")  # a dying worker: no cleanup, no epoch end

    with pytest.raises(KeyboardInterrupt):
        train_lm(cfg, tmp_path / "cut", on_progress=crash)
    ckpt = tmp_path / "cut" / "models" / "m" / "checkpoint.pt"
    resumed = train_lm(cfg, tmp_path / "cut", resume=ckpt)
    assert resumed.epochs == 1 and resumed.steps == whole.steps
    [record] = json.loads((tmp_path / "cut" / "models" / "m" / "metrics.json").read_text())["history"]
    assert record["complete"] and record["train_tokens"] == whole.steps * 4 * 5


def test_the_readme_lists_every_grid_option():
    """The README's sentence on grids names exactly the options a comma list turns into a grid."""
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    sentence = re.search(r"\*\*Grids\.\*\* Comma lists of `([^`]+)`", readme)
    assert sentence is not None
    assert set(sentence.group(1).split()) == {"--" + key.replace("_", "-") for key in GRID_FIELDS}
