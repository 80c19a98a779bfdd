"""The report reads what the stages wrote: their result files, typed, and one line for a file it cannot use."""

from __future__ import annotations

import json

from seqpipe import SCHEMA_VERSION
from seqpipe.report.collect import read_run
from seqpipe.report.render import render_report
from seqpipe.results import CorpusStatsResult


def test_the_report_reads_the_results_the_stages_wrote(sample_run):
    data = read_run(sample_run)
    assert data.problems == []
    raw = {f.parent.name: json.loads(f.read_text()) for f in (sample_run / "models").glob("*/metrics.json")}
    assert {m.name: (m.ppl_incl_oov, m.tokens, m.oovs) for m in data.ngram} == {
        name: (r["ppl_incl_oov"], r["tokens"], r["oovs"]) for name, r in raw.items() if r["kind"] == "ngram-lm-metrics"}
    [gru] = data.neural
    assert (gru.test_ppl, gru.tokens, gru.history) == (raw["gru"]["test_ppl"], raw["gru"]["tokens"], raw["gru"]["history"])
    assert gru.config == json.loads((sample_run / "models" / "gru" / "config.json").read_text())["config"]
    corpus = json.loads((sample_run / "corpus_stats.json").read_text())
    assert str(data.corpus.snapshot) == corpus["snapshot"] and corpus["totals"]["2"]["distinct"] > 0
    series = json.loads((sample_run / "series" / "metrics.json").read_text())
    assert {k: e.mse for k, e in data.series.models["mlp"].k_step.items()} == {
        int(k): e["mse"] for k, e in series["models"]["mlp"]["k_step"].items()}


def test_a_run_written_before_the_result_files_still_renders(copy_run):
    run = copy_run()
    (run / "corpus_stats.json").unlink()  # the snapshot is then found from run.json's outputs
    path = run / "models" / "gru" / "metrics.json"
    old = json.loads(path.read_text())
    del old["config"]  # earlier neural results kept their config in config.json only
    path.write_text(json.dumps(old))
    data = read_run(run)
    assert data.problems == [] and data.corpus is not None and data.neural[0].config["model"]["kind"] == "gru"
    assert render_report(run, samples=False).result.stages == {
        "corpus": "ok", "n-gram LMs": "ok", "neural LMs": "ok", "series": "ok"}


def test_a_result_of_another_schema_or_missing_a_field_is_one_line_naming_it(copy_run):
    run = copy_run()
    gru = run / "models" / "gru" / "metrics.json"
    gru.write_text(json.dumps({**json.loads(gru.read_text()), "schema_version": SCHEMA_VERSION + 1}))
    corpus = json.loads((run / CorpusStatsResult.FILE).read_text())
    del corpus["snapshot"]
    (run / CorpusStatsResult.FILE).write_text(json.dumps(corpus))
    data = read_run(run)
    assert data.problems == [
        "corpus_stats.json: snapshot: Field required",
        f"models/gru/metrics.json: schema_version {SCHEMA_VERSION + 1}; this seqpipe reads {SCHEMA_VERSION}",
    ]
    assert data.corpus is None and data.neural == [] and len(data.ngram) == 2  # the other stages still read
    html = render_report(run, samples=False).html.read_text()
    assert "corpus_stats.json: snapshot: Field required" in html
