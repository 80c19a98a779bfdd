"""The tiny settings of the whole `seqpipe` flow that flow tests run (seconds per stage, every stage run)."""

from __future__ import annotations

from seqpipe.config import CorpusConfig, NgramConfig
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig
from seqpipe.train.forecast_config import ForecastConfig, TrainConfig

TINY = {
    "corpus": CorpusConfig(sources=("timemachine",)),
    "ngram": NgramConfig(orders=(1, 2), workers=0),
    "lm": NgramLMConfig(),
    "lm_orders": [2],
    "char_lm_orders": [3],
    "rnn_data": LMDataConfig(max_tokens=5_000),
    "rnn_models": ["gru"],
    "rnn_model": LMModelConfig(hidden=16),
    "rnn_train": LMTrainConfig(epochs=1, threads=1, optimizer="adam", lr=0.01),
    "series": ForecastConfig(train=TrainConfig(epochs=1)),
}
