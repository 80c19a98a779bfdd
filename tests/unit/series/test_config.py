"""Forecast configuration: defaults from the book, validators that turn bad settings into one line."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from seqpipe.errors import one_line
from seqpipe.series.config import SeriesConfig
from seqpipe.train.forecast_config import ForecastConfig, TrainConfig


def test_defaults_are_the_books():
    cfg = ForecastConfig()
    assert (cfg.tau, cfg.horizons, cfg.models, cfg.seed) == (4, (1, 4, 16, 64), ("mlp",), 0)
    assert (cfg.train.epochs, cfg.train.lr, cfg.train.batch_size, cfg.train.hidden) == (5, 0.01, 16, 10)
    assert (cfg.series.length, cfg.series.noise_std, cfg.series.freq) == (1000, 0.2, 0.01)
    assert cfg.train_pairs(1000) == 600 and cfg.scaling == "none" and cfg.differencing is False


def test_file_series_defaults_scale_difference_and_fraction():
    cfg = ForecastConfig(series=SeriesConfig(source="file", path="sunspots", column="SUNACTIVITY"))
    assert cfg.scaling == "standard" and cfg.differencing is True
    assert cfg.train_pairs(309) == int(0.6 * 309) - 4
    assert ForecastConfig(series=cfg.series, train_frac=0.5, tau=2).train_pairs(100) == 48
    assert ForecastConfig(series=cfg.series, n_train=100).train_pairs(309) == 100
    raw = ForecastConfig(series=cfg.series, scale="none", difference="none")
    assert raw.scaling == "none" and raw.differencing is False


def test_horizons_and_models_are_normalised():
    cfg = ForecastConfig(horizons=(64, 1, 4, 1), models=("gru", "mlp", "gru"))
    assert cfg.horizons == (1, 4, 64) and cfg.max_horizon == 64
    assert cfg.models == ("gru", "mlp")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tau": 0}, "tau=0: need at least one lag"),
        ({"tau": -3}, "tau=-3: need at least one lag"),
        ({"horizons": ()}, "horizons is empty"),
        ({"horizons": (1, 0, 4)}, "every k must be >= 1"),
        ({"horizons": (-2,)}, "every k must be >= 1"),
        ({"models": ()}, "give at least one model"),
        ({"models": ("lstm",)}, "models ['lstm']: choose from linear, mlp, rnn, gru"),
        ({"n_train": 0}, "n_train=0"),
        ({"train_frac": 1.0}, "strictly between 0 and 1"),
        ({"train_frac": 0.0}, "strictly between 0 and 1"),
        ({"n_train": 10, "train_frac": 0.5}, "not both"),
        ({"epochs": 5}, "Extra inputs are not permitted"),
        ({"train": {"epochs": 0}}, "train.epochs"),
        ({"train": {"lr": 0}}, "train.lr"),
        ({"device": "tpu"}, "device"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_settings_are_one_line(kwargs, message):
    with pytest.raises(ValidationError) as err:
        ForecastConfig(**kwargs)
    text = one_line(err.value)
    assert message in text and "\n" not in text


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"source": "file", "column": "v"}, "needs a path"),
        ({"path": "x.csv"}, "belong to a file series"),
        ({"source": "file", "path": "x.csv", "column": "v", "missing": "zero"}, "missing"),
        ({"length": 1}, "length"),
        ({"noise_std": -0.1}, "noise_std"),
        ({"colum": "v"}, "Extra inputs are not permitted"),
    ],
)
def test_bad_series_settings(kwargs, message):
    with pytest.raises(ValidationError) as err:
        SeriesConfig(**kwargs)
    assert message in one_line(err.value)


def test_configs_are_frozen_and_round_trip_through_json():
    cfg = ForecastConfig(models=("linear", "gru"), train=TrainConfig(epochs=2), horizons=(1, 2))
    with pytest.raises(ValidationError):
        cfg.tau = 3  # type: ignore[misc]
    assert ForecastConfig.model_validate_json(cfg.model_dump_json()) == cfg
