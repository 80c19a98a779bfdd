"""A whole pipeline run in miniature: corpus stats, n-gram orders 2-3, one tiny GRU, series, run.json.

Seconds to build: workers=0 counting, a 2-epoch hidden-32 GRU on the first 20k characters, a 1-epoch
MLP forecaster. `tests/unit/report/conftest.py` builds it once per session.
"""

from __future__ import annotations

import time
from pathlib import Path

from seqpipe.config import CorpusConfig, NgramConfig, Settings, TextConfig
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.stage import run_and_save
from seqpipe.ngrams.dask_count import CountResult, count_corpus
from seqpipe.parallel import dask_client
from seqpipe.results import CorpusStatsResult
from seqpipe.runinfo import write_run_info
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.forecast import run_forecast
from seqpipe.train.forecast_config import ForecastConfig, TrainConfig
from seqpipe.train.run import train_lm

RUN_ID = "20261129T000000Z-report"


def count(sources: tuple[str, ...], out: Path, text: TextConfig | None = None) -> CountResult:
    """Publish a snapshot of `sources` under `out` in this process; return what the counting produced."""
    with dask_client(0) as client:
        return count_corpus(CorpusConfig(sources=sources), text or TextConfig(),
                            NgramConfig(workers=0, split=(0.9,), lm_order=3), out, client, Settings())


def build_run(out: Path) -> Path:
    """Every stage of the pipeline, tiny, into `out/runs/<RUN_ID>`; returns the run folder."""
    run = out / "runs" / RUN_ID
    timings: dict[str, float] = {}
    started = time.perf_counter()
    counted = count(("timemachine",), out)
    snapshot = counted.snapshot
    CorpusStatsResult.from_count(counted, {}).write(run / CorpusStatsResult.FILE)  # as the pipeline does
    timings["corpus"] = time.perf_counter() - started
    started = time.perf_counter()
    ngram_cfgs = [NgramLMConfig(order=o) for o in (2, 3)]
    for cfg in ngram_cfgs:
        run_and_save(cfg, run, snapshot=snapshot)
    timings["ngram-lm"] = time.perf_counter() - started
    started = time.perf_counter()
    lm_cfg = LMRunConfig(data=LMDataConfig(max_tokens=20_000), model=LMModelConfig(kind="gru", hidden=32),
                         train=LMTrainConfig(epochs=2, threads=1, batch_size=16, num_steps=32))
    train_lm(lm_cfg, run)
    timings["rnn-lm"] = time.perf_counter() - started
    started = time.perf_counter()
    series_cfg = ForecastConfig(train=TrainConfig(epochs=1), threads=1)
    run_forecast(series_cfg, run / "series")
    timings["series"] = time.perf_counter() - started
    config = {"ngram_lm": [c.model_dump(mode="json") for c in ngram_cfgs], "rnn_lm": lm_cfg.model_dump(mode="json"),
              "series": series_cfg.model_dump(mode="json")}
    write_run_info(run, RUN_ID, config, timings, {"snapshot": str(snapshot), "series": str(run / "series")})
    return run
