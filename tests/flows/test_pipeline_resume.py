"""A pipeline rerun reuses what is finished: after a crash in the neural stage, and on the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tiny_pipeline import TINY

pytestmark = pytest.mark.flows


def _figures(run_dir: Path) -> dict:
    """What a report shows of the models, without timings."""
    metrics = json.loads((run_dir / "metrics.json").read_text())
    ngram = {k: (v["ppl_incl_oov"], v["ppl_excl_oov"]) for k, v in metrics["ngram_lm"].items()}
    rnn = {k: v["test_ppl"] for k, v in metrics["rnn_lm"].items()}
    return {"ngram": ngram, "rnn": rnn}


def test_a_rerun_after_a_crash_reuses_the_finished_stages(tmp_path, shared_data, monkeypatch, tiny_pipeline):
    import flows.pipeline as pipeline_module

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed during the neural stage")

    monkeypatch.setattr(pipeline_module, "rnn_lm", crash)
    with pytest.raises(RuntimeError, match="worker killed"):
        pipeline_module.pipeline(**TINY, out=str(tmp_path / "out"))
    monkeypatch.undo()
    (run_dir,) = [p for p in (tmp_path / "out" / "runs").iterdir() if not p.name.startswith(".")]
    arpa = run_dir / "models" / "ngram-mkn-o2" / "lm.arpa"
    before = arpa.stat().st_mtime_ns
    assert not (run_dir / "stages" / "rnn_lm.json").exists()

    result = pipeline_module.pipeline(**TINY, out=str(tmp_path / "out"))
    assert Path(result["run_dir"]) == run_dir  # the same run folder, found again by its key
    assert arpa.stat().st_mtime_ns == before  # the n-gram stage was not recomputed
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["timings_s"]["ngram_lm"] == 0.0 and run_info["timings_s"]["rnn_lm"] > 0
    assert (run_dir / "stages" / "rnn_lm.json").is_file() and Path(result["report"]).is_file()

    clean_cwd, clean = tiny_pipeline  # a clean run of the same TINY settings, shared with test_pipeline_flow
    resumed, fresh = _figures(run_dir), _figures(clean_cwd / clean["run_dir"])  # the report equals a clean run's
    assert resumed["rnn"] == fresh["rnn"]
    # DuckDB sums in parallel: the order of the additions, so the last bits, may differ between two runs
    assert resumed["ngram"] == {k: pytest.approx(v, rel=1e-12) for k, v in fresh["ngram"].items()}

    again = pipeline_module.pipeline(**TINY, out=str(tmp_path / "out"))  # same inputs: everything reused
    timings = json.loads((run_dir / "run.json").read_text())["timings_s"]
    assert Path(again["run_dir"]) == run_dir
    assert all(timings[s] == 0.0 for s in ("ngram_lm", "ngram_lm_char", "rnn_lm", "series_forecast"))
