"""Configuration of a forecast run: where the series comes from, how it is cut, which models train how.

Every field has the book's default (d2l 2.0 §8.1) unless the series is a file, where a fraction of the
points trains and the values are standardised. `ForecastConfig.model_dump()` is stored with the results.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ModelName = Literal["linear", "mlp", "rnn", "gru"]
MODEL_NAMES: tuple[str, ...] = ("linear", "mlp", "rnn", "gru")
MissingPolicy = Literal["interpolate", "drop", "error"]
SERIES_METRICS_KIND = "series-forecast"  # the `kind` of the metrics.json a forecast run writes


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeriesConfig(_Frozen):
    """One univariate series: the book's noisy sine, or one column of a CSV/Parquet file.

    >>> SeriesConfig().source, SeriesConfig().length
    ('sine', 1000)
    >>> SeriesConfig(source="file", path="sunspots", column="SUNACTIVITY").missing
    'interpolate'
    """

    source: Literal["sine", "file"] = "sine"
    # the sine: x = sin(freq * t) + N(0, noise_std^2), t = 1..length
    length: int = Field(1000, ge=2, description="number of sine points (the book's T)")
    noise_std: float = Field(0.2, ge=0, description="standard deviation of the sine's noise")
    freq: float = Field(0.01, gt=0, description="angular frequency per time step")
    seed: int = Field(0, ge=0, description="seed of the sine's noise")
    # a file: a path, or a named series of the registry ('sunspots', 'co2')
    path: str | None = None
    column: str | None = Field(None, description="the column holding the series; unset: the only numeric one")
    time_column: str | None = None
    missing: MissingPolicy = Field("interpolate", description="what happens to empty / NA cells")

    @model_validator(mode="after")
    def _file_fields(self) -> SeriesConfig:
        if self.source == "file":
            if not self.path:
                raise ValueError("a file series needs a path (CSV or Parquet) or a named series")
        elif self.path or self.column or self.time_column:
            raise ValueError("path/column/time_column belong to a file series, not the sine")
        return self

    def settings(self, column: str | None = None) -> dict[str, Any]:
        """The fields that apply to this source (the sine's or the file's), with the column actually read.

        >>> SeriesConfig(source="file", path="s.csv").settings("v")
        {'source': 'file', 'path': 's.csv', 'column': 'v', 'time_column': None, 'missing': 'interpolate'}
        """
        fields = SINE_FIELDS if self.source == "sine" else FILE_FIELDS
        found = self.model_dump(mode="json", include={"source", *fields})
        if self.source == "file" and column is not None:
            found["column"] = column
        return {k: found[k] for k in ("source", *fields)}


SINE_FIELDS = ("length", "noise_std", "freq", "seed")
FILE_FIELDS = ("path", "column", "time_column", "missing")


class TrainConfig(_Frozen):
    """How every model is fitted: d2l 2.0 §8.1 (Adam, lr 0.01, batch 16, 5 epochs, summed loss)."""

    epochs: int = Field(5, ge=1)
    lr: float = Field(0.01, gt=0)
    batch_size: int = Field(16, ge=1)
    optimizer: Literal["adam", "sgd"] = Field("adam", description="sgd with a mean loss is d2l 1.0's")
    hidden: int = Field(10, ge=1, description="MLP hidden units (the book's 10)")
    rnn_hidden: int = Field(16, ge=1, description="latent state size of the rnn/gru models")
    rnn_history: int = Field(32, ge=1, description="most past observations the rnn/gru reads")


class ForecastConfig(_Frozen):
    """A whole forecast run: series, lags, train range, models, horizons, seed, device.

    >>> cfg = ForecastConfig()
    >>> cfg.tau, cfg.horizons, cfg.models
    (4, (1, 4, 16, 64), ('mlp',))
    >>> ForecastConfig(horizons=(16, 1, 4, 4)).horizons
    (1, 4, 16)
    """

    series: SeriesConfig = SeriesConfig()
    models: tuple[ModelName, ...] = ("mlp",)
    tau: int = Field(4, description="lags per feature row: x_{t-tau}..x_{t-1} predict x_t")
    n_train: int | None = Field(None, description="training pairs (default 600 for the sine)")
    train_frac: float | None = Field(None, description="fraction of the points that trains (files: 0.6)")
    horizons: tuple[int, ...] = (1, 4, 16, 64)
    scale: Literal["auto", "none", "standard"] = Field(
        "auto", description="standard: z-score fitted on the training range; auto: none for the sine"
    )
    difference: Literal["auto", "none", "first"] = Field(
        "auto", description="first: models see x[t] - x[t-1] (trending series); auto: none for the sine"
    )
    train: TrainConfig = TrainConfig()
    seed: int = Field(0, ge=0, description="seed of model initialisation and shuffling")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int | None = Field(1, ge=1, description="torch CPU threads during the run (None: leave as is)")

    @field_validator("tau")
    @classmethod
    def _tau_positive(cls, v: int) -> int:
        if v < 1:
            raise ValueError(f"tau={v}: need at least one lag (tau >= 1)")
        return v

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
