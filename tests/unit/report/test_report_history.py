"""The report's "Since the last snapshot" part and the runs index (`runs/index.parquet`, `runs/index.html`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
from unit.ngrams.helpers import run_count
from unit.report.helpers import parse, rows_by_first_cell
from unit.report.sample_run import RUN_ID

from seqpipe import SCHEMA_VERSION
from seqpipe.ngrams.diff import diff_snapshots, write_diff
from seqpipe.ngrams.history import config_hash
from seqpipe.report.render import render_report
from seqpipe.runinfo import write_run_info

ROOT = Path(__file__).resolve().parents[3]


def corpus_run(out: Path, run_id: str, snapshot: Path) -> Path:
    """A run folder whose only stage is the corpus snapshot."""
    run = out / "runs" / run_id
    write_run_info(run, run_id, {"corpus": "pets"}, {"corpus": 0.1}, {"snapshot": str(snapshot)})
    return run


def test_since_the_last_snapshot_section(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    (docs / "a.txt").write_text("the cat sat on the mat\n")
    first = run_count([docs], out, name="pets")
    (docs / "b.txt").write_text("a zebra sat on the mat\nthe zebra ran\n")
    second = run_count([docs], out, name="pets")
    write_diff(diff_snapshots(first.snapshot, second.snapshot))

    paths = render_report(corpus_run(out, "r2", second.snapshot), samples=False)
    html = paths.html.read_text()
    page = parse(html)
    assert 'id="since-last"' in html and "Since the last snapshot" in paths.markdown.read_text()
    changes = rows_by_first_cell(page.tables["since-last-snapshot"])
    assert changes["tokens"][first.run_id] == "6" and changes["tokens"][second.run_id] == "15"
    assert changes["tokens"]["change"] == "9" and changes["distinct 1"]["change"] == "3"  # a, zebra, ran
    appeared = [row[1] for row in page.tables["diff-appeared"][1:]]
    assert {"zebra", "a zebra", "the zebra", "zebra ran"} <= set(appeared)
    assert [row[0] for row in page.tables["diff-vocab"][1:]] == ["zebra", "a", "ran"]
    history = page.tables["corpus-history"]
    assert [row[0] for row in history[1:]] == [second.run_id, first.run_id]  # newest first
    assert "plots/corpus_history.png" in page.images and (paths.html.parent / "plots" / "corpus_history.png").is_file()

    # the first snapshot's run has nothing before it: no section, no history plot
    paths = render_report(corpus_run(out, "r1", first.snapshot), samples=False)
    assert "since-last" not in paths.html.read_text() and not (paths.html.parent / "plots" / "corpus_history.png").exists()


def test_without_a_written_diff_the_section_says_how_to_get_one(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    (docs / "a.txt").write_text("one two\n")
    run_count([docs], out, name="pets")
    (docs / "a.txt").write_text("one two three\n")
    second = run_count([docs], out, name="pets")
    html = render_report(corpus_run(out, "r", second.snapshot), samples=False).html.read_text()
    assert "seqpipe diff pets" in html and "diff-appeared" not in html


def test_runs_index_lists_every_run_with_its_key_figures(sample_run, tmp_path):
    runs = tmp_path / "runs"
    first = runs / RUN_ID
    shutil.copytree(sample_run, first)
    render_report(first, samples=False)
    second = runs / "20261130T000000Z-again"
    shutil.copytree(sample_run, second)
    (second / "report.html").unlink(missing_ok=True)
    (runs / "not-a-run").mkdir()
    render_report(second, samples=False)

    index = pd.read_parquet(runs / "index.parquet")
    assert index["run_id"].tolist() == ["not-a-run", second.name, RUN_ID]  # newest run id first
    row = index.set_index("run_id").loc[RUN_ID]
    metrics = json.loads((first / "metrics.json").read_text())
    info = json.loads((first / "run.json").read_text())
    best_ngram = min(metrics["ngram_lm"].items(), key=lambda kv: kv[1]["ppl_incl_oov"])
    assert row["ngram_ppl_word"] == best_ngram[1]["ppl_incl_oov"] and row["ngram_model_word"] == best_ngram[0]
    assert row["neural_ppl_char"] == metrics["rnn_lm"]["gru"]["test_ppl"] and row["neural_model_char"] == "gru"
    assert pd.isna(row["neural_ppl_word"]) and pd.isna(row["ngram_ppl_char"])
    series = json.loads((first / "series" / "metrics.json").read_text())
    for k in (1, 64):
        best = min((m["k_step"][str(k)]["mse"], name) for name, m in series["models"].items())
        assert (row[f"series_mse_k{k}"], row[f"series_model_k{k}"]) == best
    manifest = json.loads((Path(info["outputs"]["snapshot"]) / "_manifest.json").read_text())
    assert row["snapshot"] == manifest["run_id"] and row["corpus"] == "timemachine"
    assert row["config_hash"] == config_hash(info["config"]) and row["report"] == f"{RUN_ID}/report.html"
    assert row["date"] == pd.Timestamp(info["written_at"])
    assert "not a run folder" in index.set_index("run_id").loc["not-a-run", "note"]
    assert pq.read_schema(runs / "index.parquet").metadata[b"seqpipe.schema_version"] == str(SCHEMA_VERSION).encode()

    html = parse((runs / "index.html").read_text())
    table = rows_by_first_cell(html.tables["runs"])
    assert set(table) == {RUN_ID, second.name, "not-a-run"}
    assert table[RUN_ID]["best n-gram ppl (word)"].startswith(f"{best_ngram[1]['ppl_incl_oov']:,.2f}")
    assert f'href="{RUN_ID}/report.html"' in (runs / "index.html").read_text()

    # rebuildable from the folders alone
    (runs / "index.parquet").unlink()
    (runs / "index.html").unlink()
    rebuilt = subprocess.run([sys.executable, "-m", "seqpipe", "runs-index", str(runs)], capture_output=True, text=True,
                             cwd=ROOT, timeout=120)
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout.splitlines() == [str(runs / "index.parquet"), str(runs / "index.html")]
    assert pd.read_parquet(runs / "index.parquet").equals(index)


def test_a_report_outside_a_runs_folder_writes_no_index(copy_run):
    run = copy_run()
    render_report(run, samples=False)
    assert not (run.parent / "index.parquet").exists()


def test_a_changed_text_config_is_said_not_comparable(tmp_path):
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    (docs / "a.txt").write_text("one two\n")
    run_count([docs], out, name="pets")
    chars = run_count([docs], out, name="pets", tokens="char")
    html = render_report(corpus_run(out, "r", chars.snapshot), samples=False).html.read_text()
    assert "Not comparable: the text configs differ (tokens word vs char)" in html
    assert "seqpipe diff pets" not in html
