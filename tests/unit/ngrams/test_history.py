"""`corpus/<name>/history.parquet`: one row per published snapshot, repaired (never truncated) when damaged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from unit.ngrams.helpers import run_count

from seqpipe import SCHEMA_VERSION
from seqpipe.ngrams.history import HISTORY_FILE, config_hash, read_history, record, triggered_by

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def three_snapshots(tmp_path):
    """A two-file corpus published three times: first count, one file changed, one removed and one added."""
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    (docs / "a.txt").write_text("the cat sat on the mat\n")
    (docs / "b.txt").write_text("the dog sat\n")
    first = run_count([docs], out, name="pets", boundary="line", blocksize=16)
    (docs / "b.txt").write_text("the dog sat on the cat\n")  # 6 tokens instead of 3
    with triggered_by("cli"):
        second = run_count([docs], out, name="pets", boundary="line", blocksize=16)
    unchanged = run_count([docs], out, name="pets", boundary="line", blocksize=16)
    (docs / "a.txt").unlink()
    (docs / "c.txt").write_text("a bird\n")
    third = run_count([docs], out, name="pets", boundary="line", blocksize=16, reuse_counts=False)
    assert unchanged.unchanged
    return out / "corpus" / "pets", [first, second, third]


def test_one_row_per_published_snapshot_with_its_figures(three_snapshots):
    cdir, runs = three_snapshots
    h = read_history(cdir)
    assert h["run_id"].tolist() == [r.run_id for r in runs]  # the unchanged run published nothing, added no row
    assert h["previous_run_id"].tolist()[1:] == [runs[0].run_id, runs[1].run_id] and h["previous_run_id"].isna()[0]
    assert h["tokens"].tolist() == [9, 12, 8]
    assert h["files"].tolist() == [2, 2, 2]
    assert h[["files_added", "files_changed", "files_removed"]].values.tolist() == [[2, 0, 0], [0, 1, 0], [1, 0, 1]]
    assert h["distinct_1"].tolist() == [r.totals[1]["distinct"] for r in runs] == [6, 6, 7]
    assert h["distinct_2"].tolist() == [r.totals[2]["distinct"] for r in runs]
    assert h["distinct_4"].isna().all()  # not counted
    assert h["vocab_size"].tolist() == [7, 7, 8]  # with <unk>
    # the second run reused the unchanged file's cached counts; the third was told not to reuse
    assert h["mode"].tolist() == ["full", "refresh", "full"]
    assert h["trigger"].tolist() == ["library", "cli", "library"]
    assert (h["wall_s"] > 0).all() and h["published_at"].is_monotonic_increasing
    assert h["config_hash"].nunique() == 2  # reuse_counts is part of the config
    schema = pq.read_schema(cdir / HISTORY_FILE)
    assert schema.metadata[b"seqpipe.schema_version"] == str(SCHEMA_VERSION).encode()
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_a_corrupted_history_is_rebuilt_from_the_manifests_and_kept_aside(three_snapshots, tmp_path):
    cdir, runs = three_snapshots
    good = read_history(cdir)
    damaged = (cdir / HISTORY_FILE).read_bytes()[:-40]  # torn: the footer is gone
    (cdir / HISTORY_FILE).write_bytes(damaged)
    with pytest.warns(UserWarning, match="rebuilding it from the snapshots' manifests"):
        rebuilt = read_history(cdir)
    assert rebuilt.equals(good)
    assert (cdir / HISTORY_FILE).read_bytes() == damaged  # a reader repairs in memory only

    (docs := tmp_path / "docs").joinpath("c.txt").write_text("a bird flew\n")
    with pytest.warns(UserWarning, match="kept as history.parquet.corrupt-"):
        fourth = run_count([docs], tmp_path / "out", name="pets", boundary="line", blocksize=16)
    after = read_history(cdir)
    assert after["run_id"].tolist() == [*(r.run_id for r in runs), fourth.run_id]  # nothing lost
    assert after.iloc[:3].equals(good)
    aside = list(cdir.glob(f"{HISTORY_FILE}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes() == damaged


def test_rows_missing_from_a_readable_file_are_added_back(three_snapshots):
    cdir, _ = three_snapshots
    good = read_history(cdir)
    table = pq.read_table(cdir / HISTORY_FILE)
    pq.write_table(table.slice(0, 1), cdir / HISTORY_FILE)  # as if killed before the last two rows were written
    assert read_history(cdir).equals(good)
    record(cdir)
    assert pq.read_table(cdir / HISTORY_FILE).to_pandas().equals(good)


def test_not_a_history_table_is_treated_as_corrupted(three_snapshots):
    cdir, _ = three_snapshots
    good = read_history(cdir)
    pq.write_table(pq.read_table(cdir / HISTORY_FILE).drop_columns(["tokens"]), cdir / HISTORY_FILE)
    with pytest.warns(UserWarning, match="missing tokens"):
        assert read_history(cdir).equals(good)


def test_snapshots_from_before_the_history_are_listed_in_run_id_order(three_snapshots):
    cdir, runs = three_snapshots
    good = read_history(cdir)
    (cdir / HISTORY_FILE).unlink()
    for run in runs:  # snapshots written before `_published.json` existed
        (cdir / "snapshots" / run.run_id / "_published.json").unlink()
    legacy = read_history(cdir)
    assert legacy["run_id"].tolist() == good["run_id"].tolist()
    assert legacy["previous_run_id"].tolist()[1:] == good["previous_run_id"].tolist()[1:]
    assert (legacy["trigger"] == "unknown").all()
    assert legacy["tokens"].tolist() == good["tokens"].tolist()


def test_history_command_prints_and_repairs(three_snapshots):
    cdir, runs = three_snapshots
    good = read_history(cdir)
    (cdir / HISTORY_FILE).write_bytes(b"not parquet")
    run = subprocess.run([sys.executable, "-m", "seqpipe", "history", str(cdir), "--repair"], capture_output=True,
                         text=True, cwd=ROOT, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert lines[-1] == str(cdir / HISTORY_FILE) and len(lines) == 2 + len(runs)  # header, rows, path
    assert [line.split()[0] for line in lines[1:-1]] == [r.run_id for r in runs]
    assert "history.parquet.corrupt-" in run.stderr  # the warning names where the damaged file went
    assert pq.read_table(cdir / HISTORY_FILE).to_pandas().equals(good)
    missing = subprocess.run([sys.executable, "-m", "seqpipe", "history", "nope", "--out", str(cdir.parent.parent)],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1 and "no snapshot" in missing.stderr
