"""Configuration of a forecast run: the series (`SeriesConfig`), how it is cut, which models train how.

Every field has the book's default (d2l 2.0 §8.1) unless the series is a file, where a fraction of the
points trains and the values are standardised. `ForecastConfig.model_dump()` is stored with the results.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from seqpipe.config import FrozenConfig, IntList, cli
from seqpipe.series.config import SeriesConfig

ModelName = Literal["linear", "mlp", "rnn", "gru"]
MODEL_NAMES: tuple[str, ...] = ("linear", "mlp", "rnn", "gru")


class TrainConfig(FrozenConfig):
    """How every model is fitted: d2l 2.0 §8.1 (Adam, lr 0.01, batch 16, 5 epochs, summed loss)."""

    epochs: int = Field(5, ge=1, description="training epochs")
    lr: float = Field(0.01, gt=0, description="learning rate")
    batch_size: int = Field(16, ge=1, description="examples per minibatch")
    optimizer: Literal["adam", "sgd"] = Field("adam", description="sgd with a mean loss is d2l 1.0's")
    hidden: int = Field(10, ge=1, description="MLP hidden units (the book's 10)")
    rnn_hidden: int = Field(16, ge=1, description="latent state size of the rnn/gru models")
    rnn_history: int = Field(32, ge=1, description="most past observations the rnn/gru reads")


class ForecastConfig(FrozenConfig):
    """A whole forecast run: series, lags, train range, models, horizons, seed, device.

    >>> cfg = ForecastConfig()
    >>> cfg.tau, cfg.horizons, cfg.models
    (4, (1, 4, 16, 64), ('mlp',))
    >>> ForecastConfig(horizons=(16, 1, 4, 4)).horizons
    (1, 4, 16)
    """

    series: SeriesConfig = SeriesConfig()
    models: tuple[ModelName, ...] = Field(("mlp",), description="linear, mlp, rnn, gru, a comma list, or all",
                                          json_schema_extra=cli("model"))
    tau: int = Field(4, description="lags per feature row: x_{t-tau}..x_{t-1} predict x_t")
    n_train: int | None = Field(None, description="training pairs (default 600 for the sine)")
    train_frac: float | None = Field(None, description="fraction of the points that trains (files: 0.6)")
    horizons: IntList = Field((1, 4, 16, 64), description="k values of the k-step error")
    scale: Literal["auto", "none", "standard"] = Field(
        "auto", description="standard: z-score fitted on the training range; auto: none for the sine"
    )
    difference: Literal["auto", "none", "first"] = Field(
        "auto", description="first: models see x[t] - x[t-1] (trending series); auto: none for the sine"
    )
    train: TrainConfig = TrainConfig()
    seed: int = Field(0, ge=0, description="seed of model initialisation and shuffling (the CLI's --seed also draws the sine)")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="where the models train")
    threads: int | None = Field(1, ge=1, description="torch CPU threads during the run (None: leave as is)")

    @field_validator("tau")
    @classmethod
    def _tau_positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"tau={v}: need at least one lag (tau >= 1)")
        return v

    @field_validator("models", mode="before")
    @classmethod
    def _model_names(cls, v: Any) -> Any:
        names = tuple(n.strip().lower() for n in v.split(",")) if isinstance(v, str) else v
        if isinstance(names, (list, tuple)) and len(names) == 1 and names[0] == "all":
            return MODEL_NAMES
        if isinstance(names, (list, tuple)) and any(n not in MODEL_NAMES for n in names):
            raise ValueError(f"models {list(names)}: choose from {', '.join(MODEL_NAMES)}, a comma list, or all")
        return names

    @field_validator("models")
    @classmethod
    def _models_non_empty(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if not v:
            raise ValueError("give at least one model (linear, mlp, rnn, gru)")
        return tuple(dict.fromkeys(v))  # keep the user's order, drop repeats

    @field_validator("horizons")
    @classmethod
    def _horizons_positive(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("horizons is empty: give at least one k >= 1, e.g. 1,4,16,64")
        if any(k < 1 for k in v):
            raise ValueError(f"horizons {list(v)}: every k must be >= 1")
        return tuple(sorted(set(v)))

    @field_validator("n_train")
    @classmethod
    def _n_train_positive(cls, v: int | None) -> int | None:
        if v is not None and v < 1:
            raise ValueError(f"n_train={v}: need at least one training pair")
        return v

    @field_validator("train_frac")
    @classmethod
    def _frac_open_interval(cls, v: float | None) -> float | None:
        if v is not None and not 0 < v < 1:
            raise ValueError(f"train_frac={v}: must lie strictly between 0 and 1")
        return v

    @model_validator(mode="after")
    def _one_train_size(self) -> ForecastConfig:
        if self.n_train is not None and self.train_frac is not None:
            raise ValueError("give n_train or train_frac, not both")
        return self

    @property
    def max_horizon(self) -> int:
        """The largest k (the width of the k-step table beyond tau)."""
        return self.horizons[-1]

    @property
    def scaling(self) -> Literal["none", "standard"]:
        """The scaling actually used: 'auto' keeps the sine raw (the book) and standardises files."""
        if self.scale == "auto":
            return "none" if self.series.source == "sine" else "standard"
        return self.scale

    @property
    def differencing(self) -> bool:
        """Whether models see first differences: 'auto' keeps the sine as the book does, differences files.

        >>> ForecastConfig().differencing, ForecastConfig(difference="first").differencing
        (False, True)
        """
        if self.difference == "auto":
            return self.series.source == "file"
        return self.difference == "first"

    def train_pairs(self, n_points: int) -> int:
        """Training pairs for a series of `n_points`: n_train, else the fraction of the points minus tau.

        >>> ForecastConfig().train_pairs(1000)
        600
        >>> ForecastConfig(train_frac=0.6).train_pairs(1000)
        596
        """
        if self.n_train is not None:
            return self.n_train
        if self.train_frac is not None:
            frac = self.train_frac
        elif self.series.source == "sine":
            return 600  # the book's n_train
        else:
            frac = 0.6
        return int(frac * n_points) - self.tau
