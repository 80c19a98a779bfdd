"""The rendered report of a full (tiny) run: every section, the right numbers, movable image links."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

from unit.report.helpers import parse, rows_by_first_cell

from seqpipe.ngrams.store import read_manifest
from seqpipe.report.render import md_escape, render_report


def test_every_section_is_present_and_nothing_is_missing(rendered):
    _, paths, _ = rendered
    page = parse(paths.html.read_text())
    assert page.headings == ["Corpus", "Language models", "Series forecasting", "Config, versions, timings"]
    assert "not run" not in paths.html.read_text()
    assert {"corpus-size", "ngram-orders", "top-ngrams", "corpus-inputs", "lm-perplexity", "ngram-models",
            "neural-models", "series-mse", "series-mae", "timings", "versions"} <= set(page.tables)
    md = paths.markdown.read_text()
    for heading in ("## Corpus", "## Language models", "### Generated text", "## Series forecasting",
                    "## Config, versions, timings"):
        assert heading in md


def test_corpus_numbers_match_the_snapshot_manifest(rendered):
    run, paths, _ = rendered
    manifest = read_manifest(json.loads((run / "run.json").read_text())["outputs"]["snapshot"])
    page = parse(paths.html.read_text())
    size = rows_by_first_cell(page.tables["corpus-size"])
    assert size["tokens"]["this run"] == f"{manifest['summary']['tokens']:,}" == "32,775"
    assert size["lines"]["this run"] == size["lines"]["d2l book"] == "3,221"
    assert size["files skipped (binary, unreadable)"]["this run"] == str(manifest["summary"]["files_skipped"])
    assert size["invalid UTF-8 bytes replaced"]["this run"] == str(manifest["summary"]["bad_bytes"])
    orders = rows_by_first_cell(page.tables["ngram-orders"])
    for n, totals in manifest["totals"].items():
        assert orders[n]["distinct (types)"] == f"{totals['distinct']:,}"
        assert orders[n]["n-grams (tokens)"] == f"{totals['ngrams']:,}"
        assert orders[n]["Zipf α, all ranks"] == f"{manifest['zipf'][n]['alpha_all_ranks']:.2f}"
    top = page.tables["top-ngrams"]
    assert top[1][1:] == ["the", "2,261", "of the", "309", "the time traveller", "59"]
    assert "order 3 identical" in paths.html.read_text()


def test_one_lm_table_holds_every_model_with_its_metrics(rendered):
    _, paths, before = rendered
    table = rows_by_first_cell(parse(paths.html.read_text()).tables["lm-perplexity"])
    assert set(table) == set(before["ngram_lm"]) | set(before["rnn_lm"]) == {"ngram-mkn-o2", "ngram-mkn-o3", "gru"}
    for name, m in before["ngram_lm"].items():
        row = table[name]
        assert row["ppl incl. OOV"] == f"{m['ppl_incl_oov']:,.2f}" and row["ppl excl. OOV"] == f"{m['ppl_excl_oov']:,.2f}"
        assert row["OOVs"] == f"{m['oovs']:,}" and row["tokens"] == f"{m['tokens']:,}"
        assert row["uniform |V|"] == f"{m['uniform_ppl']:,.0f}" and "<unk>" in row["OOV handling"]
        assert row["KenLM, same setup"].startswith(f"{m['ppl_incl_oov']:.3f}")  # the KenLM reference, reproduced
        assert row["test set"] == "A"
    gru = before["rnn_lm"]["gru"]
    row = table["gru"]
    assert row["ppl incl. OOV"] == f"{gru['test_ppl']:,.2f}" and row["unigram"] == f"{gru['unigram_test_ppl']:,.2f}"
    assert row["uniform |V|"] == "28" and row["test set"] == "B" and "vocab" in row["OOV handling"]
    html = paths.html.read_text()
    assert "word tokens, last 10% of lines of timemachine" in html and "char tokens, last 5% of lines" in html
    assert "NOT all scored on the same test tokens" in html
    for name in ("ngram-mkn-o3", "gru"):
        assert f"{table[name]['ppl incl. OOV']}" in paths.markdown.read_text()


def test_samples_are_the_ones_each_model_saved(rendered):
    run, paths, _ = rendered
    html, md = paths.html.read_text(), paths.markdown.read_text()
    # every model continues the first words of its training text ("The Time Machine, by H. G. Wells")
    assert html.count('<div class="sample"><b>the time</b>') == 2 + 6  # GRU greedy + sampled, 3 seeds x 2 n-grams
    for name in ("gru", "ngram-mkn-o2", "ngram-mkn-o3"):
        saved = json.loads((run / "models" / name / "samples.json").read_text())["samples"]
        assert saved and all(f"- {md_escape(s['text'])} — _{md_escape(s['how'])}_" in md for s in saved), name


def test_the_report_reads_samples_and_never_makes_them(copy_run):
    run = copy_run()
    path = run / "models" / "gru" / "samples.json"
    doc = json.loads(path.read_text())
    doc["samples"] = [{"how": "written by hand", "prefix": "once", "text": "once upon a time"}]
    path.write_text(json.dumps(doc))
    (run / "models" / "ngram-mkn-o2" / "samples.json").unlink()
    (run / "models" / "ngram-mkn-o3" / "samples.json").write_text("{not json")
    md = render_report(run).markdown.read_text()
    assert "- once upon a time — _written by hand_" in md and "greedy" not in md
    assert "**ngram-mkn-o2** (n-gram): _no samples.json in the model folder: its stage wrote none_" in md
    assert "**ngram-mkn-o3** (n-gram): _no samples: " in md and "sampled, seed" not in md


def test_series_table_matches_series_metrics(rendered):
    run, paths, _ = rendered
    metrics = json.loads((run / "series" / "metrics.json").read_text())
    page = parse(paths.html.read_text())
    mse, mae = rows_by_first_cell(page.tables["series-mse"]), rows_by_first_cell(page.tables["series-mae"])
    for k in ("1", "4", "16", "64"):
        assert mse["mlp"][f"k = {k}"] == f"{metrics['models']['mlp']['k_step'][k]['mse']:.4f}"
        assert mae["mlp"][f"k = {k}"] == f"{metrics['models']['mlp']['k_step'][k]['mae']:.4f}"
        assert mse["last value"][f"k = {k}"] == f"{metrics['baselines']['last_value']['k_step'][k]['mse']:.4f}"
    assert "Noise variance (the best possible one-step MSE): 0.04" in paths.html.read_text()


def test_config_versions_and_timings_come_from_run_json(rendered):
    run, paths, _ = rendered
    info = json.loads((run / "run.json").read_text())
    page = parse(paths.html.read_text())
    stages = {row[0] for row in page.tables["timings"][1:] if row[1] == "stage total"}
    assert stages == set(info["timings_s"]) == {"corpus", "ngram-lm", "rnn-lm", "series"}
    assert rows_by_first_cell(page.tables["versions"])["torch"]["version"] == info["versions"]["torch"]
    assert '"hidden": 32' in "".join(page.text) and '"hidden": 32' in paths.markdown.read_text()


def test_images_are_relative_exist_and_cover_plots(rendered):
    run, paths, _ = rendered
    images = parse(paths.html.read_text()).images
    md_images = [line.split("](", 1)[1].rstrip(")") for line in paths.markdown.read_text().splitlines()
                 if line.startswith("![")]
    assert images and images == md_images
    for src in images:
        assert not urlparse(src).scheme and not Path(src).is_absolute() and src.startswith("plots/")
        assert (run / src).is_file() and (run / src).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {f"plots/{p.name}" for p in (run / "plots").glob("*.png")} == set(images)
    assert {"plots/zipf.png", "plots/lm_curves.png", "plots/series_error_vs_k.png"} <= set(images)
    assert paths.plots == [run / src for src in images]


def test_metrics_json_keeps_every_stage_key_and_gains_a_report_entry(rendered):
    run, paths, before = rendered
    after = json.loads(paths.metrics.read_text())
    assert {k: v for k, v in after.items() if k != "report"} == before
    report = after["report"]
    assert report["html"] == "report.html" and report["markdown"] == "report.md"
    assert report["stages"] == {"corpus": "ok", "n-gram LMs": "ok", "neural LMs": "ok", "series": "ok"}
    assert {r["name"] for r in report["lm_perplexity"]} == {"ngram-mkn-o2", "ngram-mkn-o3", "gru"}
    assert not list(run.glob(".*.tmp"))  # atomic writes leave no temporary files


def test_a_dynamic_evaluation_is_its_own_row_beside_the_static_one(copy_run):
    run = copy_run()
    path = run / "models" / "gru" / "metrics.json"
    m = json.loads(path.read_text())
    m["config"]["train"]["dynamic_lr"] = 0.3
    m.update(dynamic_test_ppl=3.5, dynamic_test_nats=1.2528, dynamic_test_eval_tokens=m["test_eval_tokens"],
             dynamic_test={**m["test"], "ppl": 3.5, "ppl_known": 3.5})
    path.write_text(json.dumps(m))
    paths = render_report(run)
    table = rows_by_first_cell(parse(paths.html.read_text()).tables["lm-perplexity"])
    static, dynamic = table["gru"], table["gru (dynamic evaluation)"]
    assert dynamic["ppl incl. OOV"] == "3.50" and dynamic["nats / token"] == "1.253"
    assert dynamic["test set"] == static["test set"] == "B" and dynamic["tokens"] == static["tokens"]
    assert "adapting (SGD lr 0.3)" in dynamic["kind"] and static["ppl incl. OOV"] == f"{m['test_ppl']:,.2f}"


def test_a_calibrated_model_shows_its_temperature_and_an_uncalibrated_one_none(copy_run):
    run = copy_run()
    path = run / "models" / "gru" / "metrics.json"
    m = json.loads(path.read_text())
    for temperature, shown in ((1.0, False), (1.1789, True)):
        path.write_text(json.dumps({**m, "temperature": temperature}))
        table = rows_by_first_cell(parse(render_report(run).html.read_text()).tables["lm-perplexity"])
        assert ("temperature 1.18 (fitted on valid)" in table["gru"]["kind"]) is shown
