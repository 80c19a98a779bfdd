"""The `seqpipe` flow end to end on tiny settings: every stage writes into one run folder and a report."""

from __future__ import annotations

import json
from pathlib import Path

from seqpipe.results import CorpusStatsResult, ReportResult


def test_pipeline_writes_every_stage_and_the_report(tiny_pipeline, monkeypatch):
    folder, result = tiny_pipeline  # the TINY settings (tests/tiny_pipeline.py), out="seqpipe-out" from `folder`
    monkeypatch.chdir(folder)  # its relative output root, as `make run` uses, resolves from there
    run_dir = Path(result["run_dir"]).resolve()
    assert run_dir.parent == folder / "seqpipe-out" / "runs"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert set(metrics["ngram_lm"]) == {"ngram-mkn-o2", "ngram-mkn-o3-char"}
    assert metrics["ngram_lm"]["ngram-mkn-o2"]["tokens"] == 3414
    assert set(metrics["rnn_lm"]) == {"gru"}
    run_info = json.loads((run_dir / "run.json").read_text())
    assert set(run_info["timings_s"]) == {"corpus_stats", "ngram_lm", "ngram_lm_char", "rnn_lm", "series_forecast"}
    assert run_info["config"]["rnn_models"] == ["gru"] and run_info["versions"]["torch"].startswith("2.")
    assert (run_dir / "series" / "metrics.json").is_file()
    assert CorpusStatsResult.read(run_dir / "corpus_stats.json").snapshot == result["snapshot"]
    assert set(ReportResult.read(run_dir / "report.json").stages.values()) == {"ok"}
    html = Path(result["report"]).read_text(encoding="utf-8")
    for section in ("Corpus", "Language models", "Series", "ngram-mkn-o2", "gru"):
        assert section in html
    assert "not run" not in html and "32,775" in html  # every stage found, the corpus section filled


def test_run_json_paths_resolve_from_another_working_directory(tmp_path, monkeypatch, shared_data):
    """`make run` writes relative output roots: run.json must still point at the real snapshot."""
    from seqpipe.runinfo import write_run_info

    monkeypatch.chdir(tmp_path)
    (tmp_path / "snap").mkdir()
    write_run_info("out/runs/r1", "r1", {}, {}, {"snapshot": "snap", "series": "out/runs/r1/series"})
    info = json.loads((tmp_path / "out/runs/r1/run.json").read_text())
    assert info["outputs"]["snapshot"] == str(tmp_path / "snap")
    assert Path(info["outputs"]["series"]) == tmp_path / "out/runs/r1/series"
