"""Evaluation over windows keeps every row's state from its first token to its last (a deadline only cuts
it short), and dynamic evaluation scores each segment before learning from it."""

from __future__ import annotations

import copy
import json
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from seqpipe.cli import main
from seqpipe.eval.dynamic import evaluate_dynamic
from seqpipe.eval.perplexity import evaluate_lm
from seqpipe.eval.windows import evaluate_windows, stream_rows
from seqpipe.models.rnn_lm import build_lm
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.generate import load_model
from seqpipe.train.run import train_lm
from seqpipe.train.token_source import ArraySource


@pytest.fixture
def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_lm("lstm", 30, hidden=24, embedding=8, layers=2, dropout=0.3)


def _ids(n: int, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 30, n)


@pytest.mark.parametrize("rows", [1, 3, 16])
def test_a_whole_range_equals_one_evaluation_of_it_whatever_the_rows(model, rows):
    ids = _ids(2_345)  # 2,344 predictions: not a multiple of the rows or the steps, so a tail row runs on
    whole = evaluate_lm(model, ids, rows, 20)
    streamed = evaluate_windows(model, ArraySource(ids), [(0, len(ids))], rows, 20)
    assert streamed.n_tokens == whole.n_tokens == 2_344
    assert math.isclose(streamed.nll_sum, whole.nll_sum, rel_tol=1e-9)


def test_windows_are_cut_into_rows_that_each_start_cold_once(model):
    ids = _ids(3_000)
    windows = [(100, 1_101), (2_000, 2_801)]  # batch 4: two rows per window
    got = evaluate_windows(model, ArraySource(ids), windows, 4, 16)
    oracle = [evaluate_lm(model, ids[a:b], 2, 16) for a, b in windows]
    assert got.n_tokens == sum(r.n_tokens for r in oracle) == 1_000 + 800
    assert math.isclose(got.nll_sum, sum(r.nll_sum for r in oracle), rel_tol=1e-9)
    assert stream_rows(windows, 4) == [(100, 601), (600, 1_101), (2_000, 2_401), (2_400, 2_801)]


def test_a_budgeted_evaluation_is_the_unbudgeted_one_until_its_deadline(model):
    ids = _ids(5_001)
    source = ArraySource(ids)
    far = evaluate_windows(model, source, [(0, 5_001)], 4, 25, deadline=time.perf_counter() + 3600)
    assert far == evaluate_windows(model, source, [(0, 5_001)], 4, 25)
    # a deadline already past: one step of every row, each row's first 25 predictions, from the zero state
    past = evaluate_windows(model, source, [(0, 5_001)], 4, 25, deadline=time.perf_counter() - 1)
    firsts = [evaluate_lm(model, ids[a : a + 26], 1, 25) for a, _ in stream_rows([(0, 5_001)], 4)]
    assert past.n_tokens == 4 * 25
    assert math.isclose(past.nll_sum, sum(r.nll_sum for r in firsts), rel_tol=1e-6)  # 4 rows vs 1: float order


def _by_hand(model: torch.nn.Module, ids: np.ndarray, steps: int, lr: float) -> float:
    """Dynamic evaluation written out: score a segment with the current weights, then one SGD step on it."""
    m = copy.deepcopy(model)
    m.train()
    for module in m.modules():  # the figure is the model's prediction: no dropout
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
        if isinstance(module, torch.nn.RNNBase):
            module.dropout = 0.0
    opt = torch.optim.SGD(m.parameters(), lr=lr)
    t = torch.as_tensor(ids)
    state, total = m.begin_state(1), 0.0
    for i in range(0, len(ids) - 1, steps):
        x, y = t[None, i : i + steps], t[None, i + 1 : i + steps + 1]
        x = x[:, : y.shape[1]]
        logits, state = m(x, state)
        nll = F.cross_entropy(logits, y.T.reshape(-1), reduction="none")
        total += float(nll.detach().sum())  # scored first
        opt.zero_grad()
        nll.mean().backward()
        opt.step()
        state = tuple(s.detach() for s in state)
    return total


def test_dynamic_evaluation_scores_each_segment_before_learning_from_it(model):
    ids = _ids(331)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    got = evaluate_dynamic(model, ArraySource(ids), [(0, len(ids))], num_steps=30, lr=0.5, precision="float32")
    assert got.n_tokens == 330
    assert math.isclose(got.nll_sum, _by_hand(model, ids, 30, 0.5), rel_tol=1e-6)
    # the first segment is scored by the weights as trained, however large the step after it
    first = [evaluate_dynamic(model, ArraySource(ids), [(0, 31)], 30, lr, precision="float32") for lr in (0.0, 50.0)]
    static = evaluate_windows(model, ArraySource(ids), [(0, 31)], 1, 30)
    assert math.isclose(first[0].nll_sum, static.nll_sum, rel_tol=1e-6)
    assert math.isclose(first[1].nll_sum, static.nll_sum, rel_tol=1e-6)
    # without steps it is the static evaluation of one stream; the caller's model never changes
    zero = evaluate_dynamic(model, ArraySource(ids), [(0, len(ids))], 30, 0.0, precision="float32")
    assert math.isclose(zero.nll_sum, evaluate_windows(model, ArraySource(ids), [(0, len(ids))], 1, 30).nll_sum,
                        rel_tol=1e-6)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_dynamic_evaluation_adapts_to_the_text_and_stops_at_a_deadline(model):
    ids = np.tile(_ids(40, seed=3), 50)  # a passage the model never saw, repeated
    source = ArraySource(ids)
    static = evaluate_dynamic(model, source, [(0, len(ids))], 20, 0.0)
    adapted = evaluate_dynamic(model, source, [(0, len(ids))], 20, 1.0)
    assert adapted.ppl < 0.7 * static.ppl, (adapted.ppl, static.ppl)  # 18.0 vs 30.6
    cut = evaluate_dynamic(model, source, [(0, len(ids))], 20, 1.0, deadline=time.perf_counter() - 1)
    assert cut.n_tokens == 20
    with pytest.raises(ValueError, match="lr must be >= 0"):
        evaluate_dynamic(model, source, [(0, 100)], 20, -1.0)


def test_train_lm_reports_the_dynamic_test_beside_the_static_one(tmp_path, capsys, shared_data):
    with pytest.raises(SystemExit) as done:
        main(["train-lm", "timemachine", "--hidden", "16", "--max-tokens", "3000", "--batch", "8", "--steps", "10",
              "--threads", "1", "--epochs", "1", "--dynamic-eval", "0.05", "--out", str(tmp_path), "--json"])
    assert done.value.code == 0
    out = capsys.readouterr()
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["dynamic_test_eval_tokens"] == summary["test_eval_tokens"] == 7_333
    assert summary["dynamic_test_ppl"] > 1 and not summary["dynamic_test_sampled"]
    assert "dynamic evaluation: test" in out.err
    metrics = json.loads((tmp_path / "models" / "lstm" / "metrics.json").read_text())
    assert metrics["dynamic_test"]["n_tokens"] == 7_333 and metrics["config"]["train"]["dynamic_lr"] == 0.05


def test_a_budgeted_run_reports_the_test_of_its_final_weights_read_in_whole_rows(tmp_path, shared_data):
    # a budget once cut the test into 160-token pieces of 16 cold rows each: 0.07 nats/char too many on
    # tiny shakespeare; the reported figure must be the plain evaluation of the range with eval_batch_size rows
    cfg = LMRunConfig(data=LMDataConfig(max_tokens=3000),
                      model=LMModelConfig(kind="gru", hidden=16),
                      train=LMTrainConfig(batch_size=8, num_steps=10, threads=1, epochs=None, minutes=0.1))
    s = train_lm(cfg, tmp_path)
    assert s.stopped == "time-budget" and not s.test_sampled
    model, _, _ = load_model(s.checkpoint)
    whole = evaluate_lm(model, build_corpus(cfg.data).test, 16, 10)
    assert s.test_eval_tokens == whole.n_tokens
    assert math.isclose(s.test_nats, whole.nats_per_token, rel_tol=1e-9)


@pytest.mark.parametrize("variational", [False, True])
def test_dynamic_evaluation_adapts_without_the_training_regularizers(variational):
    """The adapting copy runs in training mode; the weight drop and variational masks must be off there too:
    the same weights score the same with and without those options (once they were on: 1.316 vs 1.290)."""
    torch.manual_seed(0)
    plain = build_lm("lstm", 30, hidden=24, embedding=8, layers=2, dropout=0.3)
    regularized = build_lm("lstm", 30, hidden=24, embedding=8, layers=2, dropout=0.3, weight_drop=0.5,
                           variational=variational)
    regularized.load_state_dict(plain.state_dict())
    source = ArraySource(torch.randint(0, 30, (1_201,)))
    a = evaluate_dynamic(plain, source, [(0, 1_201)], 25, 0.3, "cpu", "float32")
    b = evaluate_dynamic(regularized, source, [(0, 1_201)], 25, 0.3, "cpu", "float32")
    assert a.n_tokens == b.n_tokens == 1_200
    assert abs(a.nats_per_token - b.nats_per_token) < 1e-5, (a.nats_per_token, b.nats_per_token)
