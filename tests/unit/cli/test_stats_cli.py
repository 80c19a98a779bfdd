"""`seqpipe stats` and `seqpipe top` as a user runs them: output format, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def seqpipe(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqpipe", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


def test_stats_prints_snapshot_path_last_and_top_reads_it(tmp_path, shared_data):
    run = seqpipe("stats", "timemachine", "--out", str(tmp_path), "--workers", "2", "--blocksize", "64KiB",
                  "--json", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    snapshot = Path(lines[-1])
    assert (snapshot / "_manifest.json").is_file()
    summary = json.loads(lines[-2])
    assert summary["totals"]["1"]["ngrams"] == 32775 and summary["vocab_size"] == 4580
    top = seqpipe("top", str(snapshot), "--n", "2", "--k", "3", cwd=tmp_path)
    assert top.stdout.splitlines() == ["of the\t309", "in the\t169", "i had\t130"]


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    cases = [
        (["stats", str(tmp_path / "missing.txt"), "--out", str(tmp_path)], "no such file"),
        (["stats", "timemachine", "--orders", "0,2"], "between 1 and 5"),
        (["stats", "timemachine", "--boundary", "sentence"], "boundary"),
        (["stats", "timemachine", "--blocksize", "lots"], "size"),
        (["top", str(tmp_path)], "not a snapshot"),
        (["stats", "timemachine", "--workers", "abc"], "valid integer"),
        (["stats", "timemachine", "--bogus"], "No such option"),
        (["no-such-command"], "No such command"),
    ]
    for args, message in cases:
        run = seqpipe(*args, cwd=tmp_path)
        assert run.returncode == 2, (args, run.stderr)
        assert message in run.stderr, (args, run.stderr)
        assert len(run.stderr.strip().splitlines()) == 1, run.stderr
        assert "Traceback" not in run.stderr
