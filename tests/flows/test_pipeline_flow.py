"""The `seqpipe` flow end to end on tiny settings: every stage writes into one run folder and a report."""

from __future__ import annotations

import json
from pathlib import Path

from seqpipe.config import CorpusConfig, NgramConfig
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.results import CorpusStatsResult, ReportResult
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig
from seqpipe.train.forecast_config import ForecastConfig, TrainConfig


def test_pipeline_writes_every_stage_and_the_report(tmp_path, shared_data, monkeypatch):
    from flows.pipeline import pipeline

    monkeypatch.chdir(tmp_path)  # a relative output root, as `make run` uses
    result = pipeline(
        corpus=CorpusConfig(sources=("timemachine",)),
        ngram=NgramConfig(orders=(1, 2), workers=0),
        lm=NgramLMConfig(),
        lm_orders=[2],
        char_lm_orders=[3],
        rnn_data=LMDataConfig(max_tokens=5_000),
        rnn_models=["gru"],
        rnn_model=LMModelConfig(hidden=16),
        rnn_train=LMTrainConfig(epochs=1, threads=1, optimizer="adam", lr=0.01),
        series=ForecastConfig(train=TrainConfig(epochs=1)),
        out="seqpipe-out",
    )
    run_dir = Path(result["run_dir"]).resolve()
    assert run_dir.parent == tmp_path / "seqpipe-out" / "runs"
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
