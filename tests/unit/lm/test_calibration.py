"""Temperature calibration: the fitted temperature minimizes the validation NLL (checked against a plain grid
search), the model divides its logits by it, the checkpoint keeps it, and a run's test figures use it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqpipe.cli import main
from seqpipe.eval.calibration import MAX_VALUES, calibratable, calibrate, calibration_windows, fit_temperature
from seqpipe.eval.perplexity import evaluate_lm
from seqpipe.eval.windows import evaluate_windows
from seqpipe.models.rnn_lm import build_lm
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.evaluation import plan_evaluation
from seqpipe.train.generate import load_model
from seqpipe.train.run import train_lm
from seqpipe.train.token_source import ArraySource, window_tokens


def _grid_minimum(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """The oracle: the temperature on a 0.005 grid with the lowest mean cross-entropy."""
    grid = np.arange(0.3, 3.0, 0.005)
    losses = [float(F.cross_entropy(logits.double() / t, targets)) for t in grid]
    return float(grid[int(np.argmin(losses))])


@pytest.mark.parametrize("true_temperature", [0.7, 1.0, 1.6])
def test_the_fitted_temperature_is_the_grid_searchs_minimum(true_temperature):
    torch.manual_seed(0)
    logits = 2.5 * torch.randn(30_000, 12)
    targets = torch.distributions.Categorical(logits=logits / true_temperature).sample()
    fitted = fit_temperature(logits, targets)
    assert abs(fitted - _grid_minimum(logits, targets)) < 0.006
    assert abs(fitted - true_temperature) < 0.05 * true_temperature  # 30 k draws pin it down


def test_a_confident_wrong_model_is_cooled_and_its_nll_drops():
    torch.manual_seed(1)
    truth = torch.randn(5_000, 20)
    targets = torch.distributions.Categorical(logits=truth).sample()
    overconfident = 4 * truth  # the right ranking, four times too sure
    fitted = fit_temperature(overconfident, targets)
    assert 3.5 < fitted < 4.5
    assert F.cross_entropy(overconfident / fitted, targets) < 0.8 * F.cross_entropy(overconfident, targets)


def test_non_finite_logits_or_too_few_tokens_leave_the_temperature_at_one():
    logits = torch.randn(500, 5)
    logits[3, 1] = float("nan")
    assert fit_temperature(logits, torch.zeros(500, dtype=torch.long)) == 1.0
    torch.manual_seed(0)
    model = build_lm("gru", 30, hidden=8)
    with torch.no_grad():
        model.linear.weight.mul_(8)
    got = calibrate(model, ArraySource(np.arange(60) % 30), [(0, 60)], 2, 10)  # 59 tokens < MIN_TOKENS
    assert (got.temperature, model.temperature, got.tokens) == (1.0, 1.0, 59)
    assert got.nats_after == got.nats_before


def test_the_model_divides_its_logits_by_its_temperature():
    torch.manual_seed(0)
    model = build_lm("gru", 30, hidden=16, embedding=8).eval()
    x = torch.randint(0, 30, (2, 7))
    plain, _ = model(x, model.begin_state(2))
    model.temperature = 2.0
    cooled, _ = model(x, model.begin_state(2))
    assert torch.allclose(cooled, plain / 2)


def test_calibrate_sets_the_temperature_that_lowers_the_validation_nll_as_evaluated():
    torch.manual_seed(0)
    model = build_lm("lstm", 30, hidden=24, embedding=8)
    with torch.no_grad():
        model.linear.weight.mul_(8)  # an untrained model made overconfident
    source = ArraySource(np.random.default_rng(2).integers(0, 30, 3_001))
    windows = [(0, 3_001)]
    before = evaluate_windows(model, source, windows, 4, 20)
    got = calibrate(model, source, windows, 4, 20)
    after = evaluate_windows(model, source, windows, 4, 20)  # the model now carries the temperature
    assert model.temperature == got.temperature > 2
    assert got.tokens == before.n_tokens == 3_000
    assert math.isclose(got.nats_before, before.nats_per_token, rel_tol=1e-6)
    assert math.isclose(got.nats_after, after.nats_per_token, rel_tol=1e-6)
    # the targets are uniform draws: the best a temperature can do is come near the uniform model's log(30)
    assert after.nats_per_token < min(before.nats_per_token - 0.1, math.log(30) + 0.01)


def test_adaptive_softmax_models_are_not_calibrated():
    model = build_lm("lstm", 200, hidden=16, embedding=8, cutoffs=[20, 100])
    assert not calibratable(model) and calibratable(build_lm("lstm", 200, hidden=16))
    with pytest.raises(ValueError, match="full-softmax"):
        calibrate(model, ArraySource(np.arange(100) % 200), [(0, 100)])


def test_a_large_vocabulary_fits_on_a_sample_whose_logits_fit_in_memory():
    assert calibration_windows(200_000, [(0, 200_000)], 66) == [(0, 200_000)]  # a character model: all of it
    windows = [(0, 1_000_000)]
    sample = calibration_windows(1_000_000, windows, 10_000)
    assert window_tokens(sample) <= MAX_VALUES // 10_000 < 2_000


def test_the_plan_reserves_a_second_validation_pass_and_checkpoint_for_calibration():
    cfg = LMTrainConfig(minutes=1.0, epochs=None)
    plain = plan_evaluation(cfg, 50_000, 50_000, 10_000.0, 1_000_000)
    calibrating = plan_evaluation(cfg, 50_000, 50_000, 10_000.0, 1_000_000, calibrate=True)
    extra = calibrating.reserve_s - plain.reserve_s
    assert math.isclose(extra, plain.valid_tokens / 10_000.0 * 1.05 + plain.fixed_s, rel_tol=1e-9)
    at = calibrating.reserve()  # rescaled by the training rate, the reserve still counts both passes
    at(1_000.0)
    assert math.isclose(at(1_000.0), calibrating.reserve_s, rel_tol=1e-9)
    assert at(500.0) > plain.reserve()(None) + extra  # half the rate: the evaluations take twice as long


def test_a_run_fits_its_temperature_on_valid_and_reports_the_test_under_it(tmp_path, shared_data):
    cfg = LMRunConfig(data=LMDataConfig(max_tokens=6_000),
                      model=LMModelConfig(kind="gru", hidden=32, embedding=16),
                      train=LMTrainConfig(batch_size=8, num_steps=16, threads=1, epochs=4, optimizer="adam",
                                          lr=0.01))
    s = train_lm(cfg, tmp_path)
    assert s.calibration is not None and s.temperature == s.calibration["temperature"] != 1.0
    assert s.calibration["valid_nats_after"] <= s.calibration["valid_nats_before"]
    assert s.calibration["tokens"] == s.valid_eval_tokens
    model, _, _ = load_model(s.checkpoint)  # the checkpoint carries the temperature
    assert model.temperature == s.temperature
    whole = evaluate_lm(model, build_corpus(cfg.data).test, 16, 16)
    assert math.isclose(s.test_nats, whole.nats_per_token, rel_tol=1e-9)
    model.temperature = 1.0
    assert evaluate_lm(model, build_corpus(cfg.data).test, 16, 16).nats_per_token != s.test_nats

    off = train_lm(cfg.model_copy(update={"train": cfg.train.model_copy(update={"calibrate": False})}),
                   tmp_path / "off")
    assert off.temperature == 1.0 and off.calibration is None
    assert math.isclose(off.test_nats, evaluate_lm(model, build_corpus(cfg.data).test, 16, 16).nats_per_token,
                        rel_tol=1e-9)  # same seed, same weights: only the temperature differs


def test_without_a_valid_split_there_is_nothing_to_fit_on(tmp_path, capsys, shared_data):
    with pytest.raises(SystemExit) as done:
        main(["train-lm", "timemachine", "--hidden", "16", "--max-tokens", "3000", "--batch", "8", "--steps", "10",
              "--threads", "1", "--epochs", "1", "--split", "0.9", "--out", str(tmp_path), "--json"])
    assert done.value.code == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["temperature"] == 1.0 and summary["calibration"] is None
