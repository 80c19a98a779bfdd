"""Named `train-lm` presets: they parse into a valid config, and explicit options win (nothing is trained)."""

from __future__ import annotations

import math

import pytest

from seqpipe.cli.train_lm import build_config
from seqpipe.defaults import pipeline_defaults
from seqpipe.train.config import LMDataConfig, LMModelConfig
from seqpipe.train.presets import PRESETS, apply_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_builds_a_valid_config(name):
    cfg = build_config(["timemachine"], None, apply_preset(name, {}))
    assert cfg.model.kind == PRESETS[name]["model"]


def test_pipeline_char_preset_is_the_pipeline_split_with_one_lstm():
    cfg = build_config(["timemachine"], None, apply_preset("pipeline-char", {"hidden": None}))
    assert cfg.model == LMModelConfig(kind="lstm", hidden=512, embedding=64, dropout=0.5)
    assert cfg.model == pipeline_defaults().rnn_model.model_copy(update={"kind": "lstm"})
    t, pipeline = cfg.train, pipeline_defaults().rnn_train  # the preset is what `make run` trains
    fields = ("optimizer", "lr", "schedule", "batch_size", "num_steps", "epochs", "minutes", "threads", "precision",
              "ema")
    assert {f: getattr(t, f) for f in fields} == {f: getattr(pipeline, f) for f in fields}
    assert (t.optimizer, t.lr, t.epochs, t.threads, t.ema) == ("adam", 7e-3, 10, 2, 0.998)
    # test set B: the split and tokens the pipeline's char n-grams are scored on (LMDataConfig's defaults)
    assert cfg.data == LMDataConfig()


def test_explicit_options_override_the_preset():
    cfg = build_config(["timemachine"], None, apply_preset("pipeline-char", {"hidden": "128", "minutes": 1.0}))
    assert cfg.model.hidden == 128 and cfg.model.dropout == 0.5
    assert cfg.train.minutes == 1.0


def test_unknown_preset_names_the_known_ones():
    with pytest.raises(ValueError, match="pipeline-char"):
        apply_preset("nope", {})


def test_shakespeare_char_tests_on_nanogpts_range_and_calibrates_on_the_start():
    cfg = build_config(["tinyshakespeare"], None, apply_preset("shakespeare-char", {}))
    d = cfg.data
    assert (d.split, d.split_by, d.valid_from, d.normalize) == ((0.89, 0.01), "tokens", "start", "raw")
    assert math.isclose(sum(d.split), 0.9) and cfg.train.calibrate  # the last 10 % of characters is the test, as nanoGPT's
