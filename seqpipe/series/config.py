"""Configuration of a series' data: the book's noisy sine (d2l 2.0 §8.1) or one column of a file.

How models train on it and how it is cut is the forecast stage's config (`seqpipe.train.forecast_config`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from seqpipe.config import FrozenConfig

MissingPolicy = Literal["interpolate", "drop", "error"]


class SeriesConfig(FrozenConfig):
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
