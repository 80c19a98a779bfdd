"""Typed configurations of an RNN language-model run: data, model, training (pydantic, frozen, strict keys).

A run's config is stored in its checkpoint and `config.json`; a resumed run reads it back from there.

>>> cfg = LMRunConfig(model=LMModelConfig(kind="gru"), train=LMTrainConfig(epochs=2))
>>> cfg.model_name, cfg.data.separator
('gru', '')
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from seqpipe.config import FrozenConfig, Sources, Split, cli
from seqpipe.text.normalize import Normalize
from seqpipe.text.tokenize import TokenUnit

# training matmul precision (seqpipe.models.amp): auto = bf16 where the device multiplies it natively
Precision = Literal["auto", "float32", "bfloat16"]

ModelKind = Literal["scratch-rnn", "rnn", "gru", "lstm"]
SoftmaxKind = Literal["auto", "full", "adaptive"]
_DEVICE = re.compile(r"^(auto|cpu|cuda(:\d+)?|mps)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class LMDataConfig(FrozenConfig):
    """Where the token ids come from and how they are split into train / valid / test."""

    sources: Sources = ("timemachine",)
    normalize: Normalize = Field("d2l", description="d2l (letters, lower case) | unicode | raw; raw keeps '\\n' tokens")
    tokens: TokenUnit = Field("char", description="char | word")
    line_sep: Literal["auto", "none", "newline"] = Field(
        "auto",
        description="'none': lines joined with nothing (the book); 'newline': a '\\n' token ends "
        "each line; 'auto': newline for raw text, none otherwise",
    )
    split: Split = Field((0.9, 0.05), description="train[,valid] fractions, the rest is test; none: all train")
    split_by: Literal["lines", "tokens"] = Field(
        "lines",
        description="'lines': the line split the n-gram LMs use; 'tokens': cut the token stream (nanoGPT)",
    )
    valid_from: Literal["end", "start"] = Field(
        "end",
        description="'end': train | valid | test; 'start': valid | train | test, so training runs right up "
        "to the test (the start of the play the test continues, on tiny shakespeare)",
    )
    max_tokens: int | None = Field(
        None, gt=0, description="train on the first N training tokens (the book: 10000)"
    )
    min_freq: int = Field(0, ge=0, description="vocabulary cut; rarer training tokens read as <unk>")
    vocab_path: str | None = Field(
        None, description="a snapshot's vocab.parquet instead of the training tokens", json_schema_extra=cli("vocab")
    )
    snapshot: str | None = Field(
        None,
        description="read the memory-mapped token ids of this snapshot (`stats --split`; a snapshot or "
        "corpus folder) instead of `sources`; lines are joined with an end-of-line token </s>",
    )
    max_vocab: int | None = Field(
        None, ge=3, description="keep the most frequent training words (with <unk> and </s>); the rest -> <unk>"
    )

    @model_validator(mode="after")
    def _valid_from_text(self) -> LMDataConfig:
        if self.valid_from == "start" and self.snapshot:
            raise ValueError("valid_from=start cuts a text source; a snapshot's train / valid / test are fixed")
        return self

    @property
    def separator(self) -> str:
        """The token that ends each line ('' for none)."""
        sep = self.line_sep if self.line_sep != "auto" else ("newline" if self.normalize == "raw" else "none")
        return "\n" if sep == "newline" else ""


class LMModelConfig(FrozenConfig):
    """Which network: the book's scratch RNN, or nn.RNN / nn.GRU / nn.LSTM."""

    kind: ModelKind = Field("lstm", description="the network", json_schema_extra=cli("model", grid=True))
    hidden: int = Field(256, gt=0, description="hidden units", json_schema_extra=cli(grid=True))
    layers: int = Field(1, ge=1, le=16, description="recurrent layers", json_schema_extra=cli(grid=True))
    embedding: int = Field(0, ge=0, description="embedding size; 0 is one-hot input (the book)",
                           json_schema_extra=cli(grid=True))
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout", json_schema_extra=cli(grid=True))
    weight_drop: float = Field(
        0.0, ge=0.0, lt=1.0, description="DropConnect on the hidden-to-hidden weights in training (AWD-LSTM)",
        json_schema_extra=cli(grid=True),
    )
    variational_dropout: bool = Field(
        False, description="dropout with one mask per sequence (the same at every step) between layers and "
        "before the output (Gal & Ghahramani 2016), instead of a fresh mask every step",
    )
    softmax: SoftmaxKind = Field(
        "auto", description="full | adaptive (frequency clusters) | auto: adaptive above 10,000 words",
        json_schema_extra=cli(grid=True),
    )

    @model_validator(mode="after")
    def _scratch_is_plain(self) -> LMModelConfig:
        if self.kind == "scratch-rnn" and (
            self.layers != 1 or self.embedding or self.dropout or self.weight_drop or self.variational_dropout
        ):
            raise ValueError("scratch-rnn has one layer, one-hot input and no dropout")
        if self.kind == "scratch-rnn" and self.softmax == "adaptive":
            raise ValueError("scratch-rnn has a full softmax")
        return self


class LMTrainConfig(FrozenConfig):
    """How to train: truncated BPTT minibatches, optimizer, clipping, schedule, stopping, seed, device."""

    batch_size: int = Field(32, ge=1, description="minibatch rows", json_schema_extra=cli("batch", grid=True))
    num_steps: int = Field(35, ge=1, description="BPTT length: tokens per row of a minibatch",
                           json_schema_extra=cli("steps", grid=True))
    iterator: Literal["sequential", "random"] = Field(
        "sequential", description="minibatch order (d2l's sequential or random partitioning)",
        json_schema_extra=cli("iter"),
    )
    optimizer: Literal["sgd", "adam"] = Field("sgd", description="optimizer", json_schema_extra=cli(grid=True))
    lr: float = Field(1.0, gt=0, description="learning rate", json_schema_extra=cli(grid=True))
    momentum: float = Field(0.0, ge=0.0, lt=1.0, description="SGD only")
    weight_decay: float = Field(0.0, ge=0.0, description="L2 penalty of the optimizer")
    clip: float = Field(1.0, ge=0.0, description="max global L2 norm of the gradient; 0 turns clipping off",
                        json_schema_extra=cli(grid=True))
    schedule: Literal["constant", "cosine", "plateau"] = Field(
        "constant", description="learning-rate schedule", json_schema_extra=cli(grid=True)
    )
    warmup_steps: int = Field(0, ge=0, description="linear learning-rate warm-up, in steps")
    min_lr_ratio: float = Field(0.1, ge=0.0, le=1.0, description="cosine: final lr / lr")
    plateau_factor: float = Field(0.5, gt=0.0, lt=1.0, description="plateau: lr factor when valid stalls")
    epochs: int | None = Field(10, ge=1, description="epochs")
    minutes: float | None = Field(None, gt=0, description="wall-clock budget; stops mid-epoch when spent")
    patience: int | None = Field(None, ge=1, description="stop after this many epochs without a better valid")
    restore_best: bool = Field(True, description="end with the weights of the best valid epoch")
    ema: float = Field(
        0.0, ge=0.0, lt=1.0,
        description="weight averaging: validate and keep an exponential moving average of the weights "
        "with this decay per step (e.g. 0.998); 0 = off",
        json_schema_extra=cli(grid=True),
    )
    calibrate: bool = Field(
        True, description="after training, fit a softmax temperature on the valid split (full softmax; "
        "the test figures and generate use it)",
    )
    seed: int = Field(0, ge=0, description="seed", json_schema_extra=cli(grid=True))
    device: str = Field("auto", description="auto | cpu | cuda[:N] | mps")
    precision: Precision = Field(
        "auto", description="training matmuls: auto = bf16 where the device multiplies bf16 natively (CUDA, CPU with AMX or AVX-512 BF16)"
    )
    threads: int | None = Field(None, ge=1, description="torch CPU threads; 1 beside other work")
    eval_batch_size: int = Field(16, ge=1, description="rows per evaluation batch (1: the test range as one stream)")
    valid_batch_size: int | None = Field(
        None, ge=1, description="rows per batch of the validation during training (model selection); "
        "default: eval_batch_size, which the reported figures use"
    )
    eval_tokens: int = Field(
        200_000, ge=0, description="validation during training: a fixed sample of this many tokens; 0 = all"
    )
    test_tokens: int = Field(0, ge=0, description="final test: this many tokens (fixed sample); 0 = all")
    dynamic_lr: float | None = Field(
        None, gt=0, description="also report the test by dynamic evaluation: read as one stream, the model "
        "takes an SGD step of this lr on each segment after scoring it (e.g. 0.3)",
        json_schema_extra=cli("dynamic_eval"),
    )
    checkpoint_minutes: float | None = Field(
        None, gt=0, description="also write the checkpoint mid-epoch every N minutes (resumable there)"
    )
    eval_every: int = Field(1, ge=1, description="evaluate valid every N epochs (and at the end)")
    checkpoint_every: int = Field(1, ge=1, description="write the checkpoint every N epochs (and at the end)")

    @field_validator("device")
    @classmethod
    def _valid_device(cls, v: str) -> str:
        if not _DEVICE.match(v):
            raise ValueError(f"device {v!r}: use auto, cpu, cuda, cuda:N or mps")
        return v

    @property
    def selection_rows(self) -> int:
        """Rows per batch of the validation during training."""
        return self.valid_batch_size or self.eval_batch_size

    @model_validator(mode="after")
    def _has_a_limit(self) -> LMTrainConfig:
        if self.epochs is None and self.minutes is None:
            raise ValueError("give a number of epochs or a time budget in minutes")
        return self


class LMRunConfig(FrozenConfig):
    """One model trained on one corpus: what `train-lm`, the task and the flow all take."""

    name: str | None = Field(None, description="folder under models/; the model kind when unset")
    data: LMDataConfig = LMDataConfig()
    model: LMModelConfig = LMModelConfig()
    train: LMTrainConfig = LMTrainConfig()

    @field_validator("name")
    @classmethod
    def _valid_name(cls, v: str | None) -> str | None:
        if v is not None and not _NAME.match(v):
            raise ValueError(f"name {v!r}: use letters, digits, '.', '_' and '-'")
        return v

    @property
    def model_name(self) -> str:
        """The folder name under `models/`."""
        return self.name or self.model.kind
