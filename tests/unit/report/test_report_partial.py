"""Runs with stages missing or files broken still render, saying "not run" or naming the unreadable file."""

from __future__ import annotations

import json
import shutil

import pytest
from unit.report.helpers import parse

from seqpipe.report.collect import read_run
from seqpipe.report.render import render_report
from seqpipe.results import ReportResult


def _only_ngrams(run):
    shutil.rmtree(run / "series")
    shutil.rmtree(run / "models" / "gru")
    (run / "corpus_stats.json").unlink()
    info = json.loads((run / "run.json").read_text())
    info["outputs"] = {}
    info["timings_s"] = {"ngram-lm": info["timings_s"]["ngram-lm"]}
    (run / "run.json").write_text(json.dumps(info))
    metrics = json.loads((run / "metrics.json").read_text())
    del metrics["rnn_lm"]
    (run / "metrics.json").write_text(json.dumps(metrics))


def test_a_run_with_missing_stages_says_not_run(copy_run):
    run = copy_run()
    _only_ngrams(run)
    paths = render_report(run, samples=False)
    html = paths.html.read_text()
    text = " ".join(parse(html).text)
    for what in ("Corpus statistics: not run", "Neural language models: not run", "Series forecasting: not run"):
        assert what in text and what in paths.markdown.read_text().replace("_", "")
    assert "n-gram language models: not run" not in text
    table = parse(html).tables["lm-perplexity"]
    assert [row[0] for row in table[1:]] == ["ngram-mkn-o2", "ngram-mkn-o3"]
    assert parse(html).images == ["plots/ngram_orders.png"]
    stages = json.loads(paths.metrics.read_text())["report"]["stages"]
    assert stages == {"corpus": "not run", "n-gram LMs": "ok", "neural LMs": "not run", "series": "not run"}


def test_a_run_with_only_series_and_no_run_json(copy_run):
    run = copy_run()
    for name in ("run.json", "metrics.json", "corpus_stats.json"):
        (run / name).unlink()
    shutil.rmtree(run / "models")
    paths = render_report(run)
    text = " ".join(parse(paths.html.read_text()).text)
    assert "n-gram language models: not run" in text and "Corpus statistics: not run" in text
    tables = parse(paths.html.read_text()).tables
    assert "lm-perplexity" not in tables and "versions" not in tables  # no models, no run.json
    assert [row[:2] for row in tables["timings"][1:]] == [["series", "mlp (training)"]]
    assert parse(paths.html.read_text()).images[0] == "plots/series_error_vs_k.png"
    assert set(json.loads(paths.metrics.read_text())) == {"kind", "schema_version", "seqpipe_version", "report"}
    assert ReportResult.read(run / "report.json").stages["series"] == "ok"


def test_unreadable_files_are_named_and_other_stages_still_render(copy_run):
    run = copy_run()
    (run / "series" / "metrics.json").write_text("{ not json")
    (run / "models" / "gru" / "metrics.json").write_text("[1, 2]")
    data = read_run(run)
    assert data.series is None
    assert [p.split(":")[0] for p in data.problems] == ["models/gru/metrics.json", "series/metrics.json"]
    paths = render_report(run, samples=False)
    text = " ".join(parse(paths.html.read_text()).text)
    assert "Files that could not be read" in text and "Series forecasting: not run" in text
    shown = {row[0] for row in parse(paths.html.read_text()).tables["lm-perplexity"]}
    assert "ngram-mkn-o2" in shown and "gru" not in shown  # a broken result is named, not guessed from metrics.json


def test_rerendering_removes_stale_plots_and_keeps_other_keys(copy_run):
    run = copy_run()
    render_report(run, samples=False)
    (run / "plots" / "old_figure.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["other_stage"] = {"kept": True}
    (run / "metrics.json").write_text(json.dumps(metrics))
    shutil.rmtree(run / "series")
    paths = render_report(run, samples=False)
    assert not (run / "plots" / "old_figure.png").exists() and not list((run / "plots").glob("series_*"))
    after = json.loads(paths.metrics.read_text())
    assert after["other_stage"] == {"kept": True} and after["report"]["stages"]["series"] == "not run"
    assert "Samples were left out of this render" in paths.html.read_text()


def test_a_folder_that_is_no_run_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a run folder"):
        render_report(tmp_path)
    with pytest.raises(FileNotFoundError):
        render_report(tmp_path / "missing")
