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
from seqpipe.io import new_run_id
from seqpipe.ngrams.lm_config import NgramLMConfig
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig
from seqpipe.train.forecast_config import ForecastConfig
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
    series: ForecastConfig = D.series,
    out: str | None = D.out,
) -> dict[str, Any]:
    """Run every stage on the bundled defaults (The Time Machine, the noisy sine) into one run folder."""
    run_id = new_run_id()
    run_dir = str(Path(out or Settings().out) / "runs" / run_id)
    config = {k: v for k, v in locals().items() if k not in ("run_id", "run_dir")}
    timings: dict[str, float] = {}
    outputs: dict[str, Any] = {}

    def timed(stage: str, call, *args, **kwargs):
        start = time.perf_counter()
        result = call(*args, **kwargs)
        timings[stage] = time.perf_counter() - start
        return result

    stats = timed("corpus_stats", corpus_stats, corpus, text, ngram, out)
    outputs["snapshot"] = stats["snapshot"]
    timed("ngram_lm", ngram_lm, list(corpus.sources), lm_orders, lm, run_dir)
    timed("ngram_lm_char", ngram_lm, list(rnn_data.sources), char_lm_orders, char_lm, run_dir)
    timed("rnn_lm", rnn_lm, rnn_data, rnn_models, rnn_model, rnn_train, run_dir)
    outputs["series"] = str(Path(run_dir) / "series")
    timed("series_forecast", series_forecast, series, outputs["series"])
    record_run(run_dir, run_id, config, timings, outputs)
    paths = report(run_dir)
    print(f"report: {paths['html']}")
    return {"run_id": run_id, "run_dir": run_dir, "snapshot": stats["snapshot"], "report": paths["html"],
            "timings_s": timings}


if __name__ == "__main__":
    result = pipeline()
    print(f"snapshot:   {result['snapshot']}\nrun folder: {result['run_dir']}\nreport:     {result['report']}")
