"""Flow `rnn-lm`: train RNN / GRU / LSTM language models on one corpus and publish their perplexities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from seqpipe.config import Settings
from seqpipe.io import new_run_id
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from tasks.rnn_lm import publish_perplexity_table, train_rnn_lm

# Frozen pydantic models: safe to share as defaults.
DATA, MODEL, TRAIN = LMDataConfig(), LMModelConfig(), LMTrainConfig(threads=1)


@flow(name="rnn-lm", log_prints=True)
def rnn_lm(
    data: LMDataConfig = DATA,
    models: tuple[str, ...] = ("rnn", "gru", "lstm"),
    model: LMModelConfig = MODEL,
    train: LMTrainConfig = TRAIN,
    out: str | None = None,
) -> list[dict[str, Any]]:
    """Train each model kind with the same data, size and training settings; one table of perplexities."""
    run_dir = out or str(Path(Settings().out) / "runs" / new_run_id())
    summaries = [
        train_rnn_lm(LMRunConfig(data=data, model={**model.model_dump(), "kind": kind}, train=train), run_dir)
        for kind in models
    ]
    publish_perplexity_table(summaries)
    return summaries


if __name__ == "__main__":
    for row in rnn_lm():
        print(row["name"], row["valid_ppl"], row["test_ppl"])
