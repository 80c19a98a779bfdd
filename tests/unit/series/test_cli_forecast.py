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
        (["forecast", "--csv", "co2"], "co2.csv: give the column that holds the series (--column); numeric columns: date, co2"),
        (["forecast", "--csv", "co2", "--column", "nope"], "no column 'nope'; columns are: date, co2"),
        (["forecast", "--csv", "co2", "--column", "co2", "--missing", "error"], "59 missing cells"),
        (["forecast", "--csv", "nowhere.csv", "--column", "v"], "nowhere.csv: no such file"),
        (["forecast", "--sine", "--tau", "0"], "tau=0: need at least one lag"),
        (["forecast", "--sine", "--horizons", ""], "horizons is empty"),
        (["forecast", "--sine", "--horizons", "1,x"], "expected a comma-separated list of integers"),
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
    cfg = build_config(True, None, {"model": ["all"], "horizons": ["1", "4"], "seed": 3})
    assert cfg.series.seed == 3 and cfg.seed == 3 and cfg.models == ("linear", "mlp", "rnn", "gru")


def _daily_csv(tmp_path):
    rows = "\n".join(f"2020-{1 + i // 28:02d}-{1 + i % 28:02d},{(i * 7) % 11}" for i in range(80))
    (tmp_path / "s.csv").write_text("day,v\n" + rows + "\n")
    return ["forecast", "--csv", str(tmp_path / "s.csv"), "--model", "linear", "--epochs", "1", "--horizons",
            "1,2", "--no-plots", "--json", "--out", str(tmp_path / "o")]


def test_the_only_numeric_column_is_read(tmp_path, capsys):
    # issue 14 row 6: --column was required even when the file has one numeric column
    code, out, err = _run(_daily_csv(tmp_path), capsys)
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["series"] == "v" and "column 'v'" in err
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["config"]["series"]["column"] == "v"


def test_a_file_series_records_only_the_file_settings(tmp_path, capsys):
    # issue 14 row 9: metrics.json's config recorded the sine's length, noise_std and freq for a file
    code, _, err = _run([*_daily_csv(tmp_path), "--column", "v", "--time-column", "day"], capsys)
    assert code == 0, err
    series = json.loads((tmp_path / "o" / "metrics.json").read_text())["config"]["series"]
    assert series == {"source": "file", "path": str(tmp_path / "s.csv"), "column": "v", "time_column": "day",
                      "missing": "interpolate"}


def test_a_wide_file_without_column_gets_a_hint(tmp_path, capsys):
    months = "Jan,Feb,Mar,Apr,May,Jun,Jul,Aug,Sep,Oct,Nov,Dec"
    (tmp_path / "w.csv").write_text(f"Year,{months}\n1990,{','.join('1' * 12)}\n1991,{','.join('2' * 12)}\n")
    code, _, err = _run(["forecast", "--csv", str(tmp_path / "w.csv"), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and err.count("\n") == 1 and "value:" not in err
    assert "numeric columns: Year, Jan, Feb" in err and "looks wide (one column per month?)" in err


def test_the_output_says_when_no_model_beats_the_last_value(tmp_path, capsys, monkeypatch):
    # issue 14 row 15: 'best at k=1: linear (*)' although the last value was lower
    from seqpipe.train import forecast

    summary = {"series": "x", "tau": 4, "model": "linear", "mse_by_k": {"1": 0.2343},
               "baseline_last_mse_by_k": {"1": 0.2336}, "baseline_mean_mse_by_k": {"1": 0.9},
               "beats_last_value_at_first_k": False, "metrics": "m", "predictions": "p", "plots": [],
               "by_model": {"linear": {"mse_by_k": {"1": 0.2343}, "one_step_test_mse": 0.2}}}
    monkeypatch.setattr(forecast, "run_forecast", lambda *a, **k: summary)
    code, out, err = _run(["forecast", "--sine", "--model", "linear", "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "no model beats the last-value baseline at k=1: best linear 0.2343, last value 0.2336" in out
    assert "best at k=1" not in out
