"""`seqpipe report RUN_DIR`: exit 0 with the report.html path on the last line; one-line errors otherwise."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seqpipe.cli import main


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_report_command_prints_the_html_path_last(copy_run, capsys):
    run = copy_run()
    code, out, err = cli(capsys, "report", str(run), "--json")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert Path(lines[-1]) == run / "report.html" and (run / "report.html").is_file()
    summary = json.loads(lines[-2])
    assert summary["stages"] == {"corpus": "ok", "n-gram LMs": "ok", "neural LMs": "ok", "series": "ok"}
    assert all(Path(p).is_file() for p in summary["plots"]) and Path(summary["markdown"]).is_file()
    assert "figures" in err


def test_report_command_as_a_user_runs_it(copy_run):
    run = copy_run()
    done = subprocess.run([sys.executable, "-m", "seqpipe", "report", str(run), "--no-samples"],
                          check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(run / "report.html")


def test_report_command_errors_are_one_line(tmp_path, capsys):
    code, out, err = cli(capsys, "report", str(tmp_path / "nowhere"))
    assert code == 2 and out == "" and err.strip().count("\n") == 0 and "no such run folder" in err
    code, _, err = cli(capsys, "report", str(tmp_path))
    assert code == 2 and "not a run folder" in err


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_report_on_a_forecast_folder_shows_it_and_changes_nothing_it_wrote(tmp_path, capsys):
    # issue 14 row 1: `report` on a `forecast --out` folder said "0 figures", emptied plots/ and rewrote
    # the forecast's metrics.json
    run = tmp_path / "fc"
    code, _, err = cli(capsys, "forecast", "--sine", "--model", "linear", "--epochs", "1", "--horizons", "1,4",
                       "--out", str(run))
    assert code == 0, err
    before = _files(run)
    code, out, err = cli(capsys, "report", str(run), "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-2])
    assert summary["stages"]["series"] == "ok" and "report: 5 figures" in err and "series" not in err
    after = _files(run)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing deleted or rewritten
    assert set(after) - set(before) == {"report.html", "report.md", "report.json"}
    assert sorted(summary["plots"]) == sorted(str(run / p) for p in before if p.startswith("plots/"))
    assert 'src="plots/error_vs_k.png"' in (run / "report.html").read_text()


def test_report_on_a_train_lm_folder_keeps_the_stage_files(tmp_path, capsys):
    from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
    from seqpipe.train.run import train_lm

    (tmp_path / "c.txt").write_text("the time traveller was expounding a recondite matter to us\n" * 30)
    cfg = LMRunConfig(data=LMDataConfig(sources=(str(tmp_path / "c.txt"),), split="0.8"),
                      model=LMModelConfig(kind="rnn", hidden=8),
                      train=LMTrainConfig(batch_size=2, num_steps=5, epochs=2, threads=1))
    train_lm(cfg, tmp_path / "lm")
    before = _files(tmp_path / "lm")
    code, out, err = cli(capsys, "report", str(tmp_path / "lm"), "--no-samples", "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-2])["stages"]["neural LMs"] == "ok"
    after = _files(tmp_path / "lm")
    assert {k: v for k, v in after.items() if k in before and k != "metrics.json"} == {
        k: v for k, v in before.items() if k != "metrics.json"}
    assert json.loads(after["metrics.json"])["rnn_lm"] == json.loads(before["metrics.json"])["rnn_lm"]
    assert not [k for k in after if k.rsplit("/", 1)[-1].startswith(".")]  # no lock or temp files left
