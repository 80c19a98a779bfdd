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
