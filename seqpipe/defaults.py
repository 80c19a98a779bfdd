"""The pipeline's default parameters: `data/pipeline.yaml` (shipped as `seqpipe/data/pipeline.yaml`), validated.

The flows take their defaults from here, so `make run`, the deployments of prefect.yaml (whose parameters
stay empty) and `python -m flows.pipeline` run the same settings, written once.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from seqpipe.config import CorpusConfig, FrozenConfig, NgramConfig, TextConfig
from seqpipe.io import read_yaml
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMTrainConfig
from seqpipe.train.forecast_config import ForecastConfig


class PipelineDefaults(FrozenConfig):
    """One field per parameter of the flow `seqpipe`; every one must be named in the file (no second default).

    >>> pipeline_defaults().corpus.sources
    ('timemachine',)
    """

    corpus: CorpusConfig
    text: TextConfig
    ngram: NgramConfig
    lm: NgramLMConfig
    lm_orders: list[int]
    char_lm: NgramLMConfig
    char_lm_orders: list[int]
    rnn_data: LMDataConfig
    rnn_models: list[str]
    rnn_model: LMModelConfig
    rnn_train: LMTrainConfig
    rnn_snapshot: bool
    series: ForecastConfig
    out: str | None


def defaults_path() -> Path:
    """Where the installed package finds `pipeline.yaml` (in a checkout: `data/pipeline.yaml`)."""
    return Path(str(resources.files("seqpipe") / "data" / "pipeline.yaml"))


@cache
def pipeline_defaults(path: Path | None = None) -> PipelineDefaults:
    """Read and validate the defaults file; a wrong key or value is a ValueError naming the file."""
    where = path or defaults_path()
    try:
        return PipelineDefaults.model_validate(read_yaml(where))
    except ValueError as exc:
        raise ValueError(f"{where}: {' '.join(str(exc).split())}") from None
