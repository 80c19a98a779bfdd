"""Flow `seqpipe`: the whole pipeline (`make run`): corpus statistics -> n-gram LMs -> RNN LMs -> series -> report."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from prefect import flow

from flows.corpus_stats import corpus_stats
from flows.ngram_lm import ngram_lm
from flows.report import report
from flows.rnn_lm import rnn_lm
from flows.series_forecast import series_forecast
from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.defaults import pipeline_defaults
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.stage import counting_for_lm
from seqpipe.resume import finish, reuse, run_folder, stage_key
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig
from seqpipe.train.forecast_config import ForecastConfig
from tasks.corpus import record_corpus_stats
from tasks.run_info import record_run

D = pipeline_defaults()  # data/pipeline.yaml: the defaults `make run` and the deployment `seqpipe/default` run


@flow(name="seqpipe", log_prints=True)
def pipeline(
    corpus: CorpusConfig = D.corpus,
    text: TextConfig = D.text,
    ngram: NgramConfig = D.ngram,
    lm: NgramLMConfig = D.lm,
    lm_orders: list[int] = D.lm_orders,
    char_lm: NgramLMConfig = D.char_lm,
    char_lm_orders: list[int] = D.char_lm_orders,
    rnn_data: LMDataConfig = D.rnn_data,
    rnn_models: list[str] = D.rnn_models,
    rnn_model: LMModelConfig = D.rnn_model,
    rnn_train: LMTrainConfig = D.rnn_train,
    rnn_snapshot: bool = D.rnn_snapshot,
    series: ForecastConfig = D.series,
    out: str | None = D.out,
) -> dict[str, Any]:
    """Run every stage on the bundled defaults (The Time Machine, the noisy sine) into one run folder.

    A rerun with the same config on the same snapshot (after a crash, or the same command again) finds
    its run folder again and reuses every finished stage (`seqpipe.resume`); only the rest runs.
    """
    config = dict(locals())
    timings: dict[str, float] = {}
    outputs: dict[str, Any] = {}

    def timed(stage: str, call, *args, **kwargs):
        start = time.perf_counter()
        result = call(*args, **kwargs)
        timings[stage] = time.perf_counter() - start
        return result

    # the word n-gram LMs are estimated from the snapshot this stage writes (split, LM counts, token ids)
    stats = timed("corpus_stats", corpus_stats, corpus, text, counting_for_lm(ngram, lm, lm_orders), out)
    outputs["snapshot"] = stats.snapshot
    run_id, run_path, resumed = run_folder(Path(out or Settings().out) / "runs",
                                           stage_key("seqpipe", config, stats.run_id))
    run_dir = str(run_path)
    record_corpus_stats(stats, run_dir)
    if resumed:
        print(f"resuming run {run_id}: finished stages are reused")

    def stage(name: str, call, *args, **kwargs):
        key = stage_key(name, config, stats.run_id)
        found = reuse(run_dir, name, key)
        if found is not None:
            print(f"{name}: reused (finished earlier in {run_dir})")
            timings[name] = 0.0
            return found
        result = timed(name, call, *args, **kwargs)
        finish(run_dir, name, key, result)
        return result

    stage("ngram_lm", ngram_lm, snapshot=stats.snapshot, orders=lm_orders, config=lm, out=run_dir)
    stage("ngram_lm_char", ngram_lm, sources=list(rnn_data.sources), orders=char_lm_orders, config=char_lm,
          out=run_dir)
    # rnn_snapshot: the neural models memory-map this snapshot's token ids (its words) instead of reading text
    snap = stats.snapshot if rnn_snapshot else None
    stage("rnn_lm", rnn_lm, rnn_data, rnn_models, rnn_model, rnn_train, run_dir, snapshot=snap)
    outputs["series"] = str(Path(run_dir) / "series")
    stage("series_forecast", series_forecast, series, outputs["series"])
    record_run(run_dir, run_id, config, timings, outputs)
    rendered = report(run_dir)
    return {"run_id": run_id, "run_dir": run_dir, "snapshot": stats.snapshot, "report": str(run_path / rendered.html),
            "timings_s": timings}


if __name__ == "__main__":
    from flows.__main__ import main

    main()
