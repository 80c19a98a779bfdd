"""`seqpipe forecast` as a user runs it: the --json last line, the files, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from seqpipe.cli import main
from seqpipe.cli.forecast import build_config


def _run(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


def test_sine_json_last_line_as_a_user_runs_it(tmp_path):
    out = tmp_path / "fc"
    run = subprocess.run(
        [sys.executable, "-m", "seqpipe", "forecast", "--sine", "--out", str(out), "--json", "--epochs", "2"],
        check=False, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert summary["model"] == "mlp" and summary["tau"] == 4
    for key in ("mse_by_k", "mae_by_k", "baseline_last_mse_by_k"):
        assert list(summary[key]) == ["1", "4", "16", "64"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert summary["mse_by_k"]["4"] == metrics["models"]["mlp"]["k_step"]["4"]["mse"]
    assert metrics["config"]["train"]["epochs"] == 2
    assert len(metrics["models"]["mlp"]["epoch_losses"]) == 2
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == [
        "error_vs_k.png", "k_step.png", "multistep.png", "one_step.png", "training_loss.png",
    ]  # fmt: skip
    assert (out / "predictions.parquet").stat().st_size > 0


def test_csv_with_several_models_in_process(tmp_path, capsys, shared_data):
    argv = ["forecast", "--csv", str(shared_data / "sunspots.csv"), "--column", "SUNACTIVITY",
            "--time-column", "YEAR", "--model", "linear,gru", "--horizons", "1,4", "--epochs", "1",
            "--out", str(tmp_path), "--no-plots", "--json"]  # fmt: skip
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["models"] == ["linear", "gru"] and summary["model"] in ("linear", "gru")
    assert set(summary["by_model"]) == {"linear", "gru"} and list(summary["mse_by_k"]) == ["1", "4"]
    best = summary["by_model"][summary["model"]]["mse_by_k"]["1"]
    assert best == min(e["mse_by_k"]["1"] for e in summary["by_model"].values())
    assert not (tmp_path / "plots").exists()


def test_table_output_without_json(tmp_path, capsys):
    code, out, err = _run(
        ["forecast", "--sine", "--epochs", "1", "--out", str(tmp_path), "--no-plots"], capsys
    )
    assert code == 0, err
    assert "test MSE by k" in out and "last value" in out and "mlp *" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["forecast"], "give exactly one series"),
        (["forecast", "--sine", "--csv", "x.csv"], "give exactly one series"),
        (["forecast", "--csv", "co2"], "give the column"),
        (["forecast", "--csv", "co2", "--column", "nope"], "no column 'nope'; columns are: date, co2"),
        (["forecast", "--csv", "co2", "--column", "co2", "--missing", "error"], "59 missing cells"),
        (["forecast", "--csv", "nowhere.csv", "--column", "v"], "nowhere.csv: no such file"),
        (["forecast", "--sine", "--tau", "0"], "tau=0: need at least one lag"),
        (["forecast", "--sine", "--horizons", ""], "horizons is empty"),
        (["forecast", "--sine", "--horizons", "1,x"], "expected comma-separated integers"),
        (["forecast", "--sine", "--horizons", "0,4"], "every k must be >= 1"),
        (["forecast", "--sine", "--model", "lstm"], "choose from linear, mlp, rnn, gru"),
        (["forecast", "--sine", "--n-train", "10", "--train-frac", "0.5"], "not both"),
        (["forecast", "--sine", "--n-train", "990"], "series too short: 1000 points"),
        (
            ["forecast", "--csv", "sunspots", "--column", "SUNACTIVITY", "--train-frac", "0.9"],
            "series too short",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    code, out, err = _run([*argv, "--out", str(tmp_path / "o")], capsys)
    assert code == 2, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines == [lines[0]] and lines[0].startswith("seqpipe: error: ") and message in lines[0], err
    assert not (tmp_path / "o").exists()  # nothing written, nothing trained


def test_non_numeric_column_is_one_line(tmp_path, capsys):
    (tmp_path / "s.csv").write_text("t,v\n1,1\n2,two\n")
    code, _, err = _run(["forecast", "--csv", str(tmp_path / "s.csv"), "--column", "v"], capsys)
    assert code == 2 and "column 'v' is not numeric: data row 2 holds 'two'" in err


def test_seed_draws_the_sine_and_all_means_every_model():
    cfg = build_config(True, None, None, None, "interpolate", "all", 4, None, None, "1,4", 5, 3)
    assert cfg.series.seed == 3 and cfg.seed == 3 and cfg.models == ("linear", "mlp", "rnn", "gru")
