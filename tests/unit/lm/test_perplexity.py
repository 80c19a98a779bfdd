"""Perplexity is token-weighted: checked against hand computations, never a mean of batch perplexities."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from seqpipe.batching import eval_batches
from seqpipe.eval.perplexity import evaluate_lm, perplexity, unigram_perplexity
from seqpipe.models.rnn_lm import RNNLM


class BigramTable(nn.Module):
    """A stateless stub: the next-token logits are a fixed row per current token."""

    state_batch_dim = 1

    def __init__(self, table: torch.Tensor) -> None:
        super().__init__()
        self.table = nn.Parameter(table)

    def begin_state(self, batch_size, device=None):
        return torch.zeros(1, batch_size, 1)

    def forward(self, X, state):
        return self.table[X.T].reshape(-1, self.table.shape[1]), state


def test_token_weighted_against_a_hand_computation():
    torch.manual_seed(0)
    table = torch.randn(5, 5) * 2
    ids = torch.randint(0, 5, (47,))
    report = evaluate_lm(BigramTable(table), ids, batch_size=3, num_steps=4)  # ragged last batch + tail
    logp = torch.log_softmax(table.double(), dim=1)
    hand_nll = -sum(float(logp[ids[t], ids[t + 1]]) for t in range(46))
    assert report.n_tokens == 46
    assert math.isclose(report.nll_sum, hand_nll, rel_tol=1e-6)
    assert math.isclose(report.ppl, math.exp(hand_nll / 46), rel_tol=1e-6)
    # the mean of per-batch perplexities (d2l 1.0's plots) is a different, wrong number
    batch_ppls = [
        math.exp(-sum(float(logp[a, b]) for a, b in zip(x.flatten(), y.flatten(), strict=True)) / y.numel())
        for x, y, _ in eval_batches(ids, 3, 4)
    ]
    assert abs(sum(batch_ppls) / len(batch_ppls) - report.ppl) > 1e-3


def test_state_is_carried_along_each_row():
    torch.manual_seed(1)
    net = RNNLM(7, "gru", num_hiddens=8)
    ids = torch.randint(0, 7, (41,))
    with torch.no_grad():
        logits, _ = net(ids[None, :-1], net.begin_state(1))
        whole = float(F.cross_entropy(logits, ids[1:], reduction="sum"))
    report = evaluate_lm(net, ids, batch_size=1, num_steps=6)
    assert report.n_tokens == 40 and math.isclose(report.nll_sum, whole, rel_tol=1e-5)


def test_uniform_model_scores_the_vocabulary_size_and_oov_is_counted():
    table = torch.zeros(6, 6)
    ids = torch.tensor([1, 2, 0, 3, 0, 4, 5, 1])
    report = evaluate_lm(BigramTable(table), ids, batch_size=2, num_steps=3)
    assert math.isclose(report.ppl, 6.0, rel_tol=1e-6) and math.isclose(report.ppl_known, 6.0, rel_tol=1e-6)
    assert (report.n_tokens, report.n_oov) == (7, 2)


def test_perplexity_and_unigram_baseline_by_hand():
    assert perplexity(0.0, 5) == 1.0 and math.isnan(perplexity(1.0, 0))
    # add-one counts of [1, 1, 2] over 4 ids: (1, 3, 2, 1) / 7
    expected = math.exp(-(math.log(3 / 7) + math.log(2 / 7) + math.log(1 / 7)) / 3)
    assert math.isclose(unigram_perplexity([1, 1, 2], [0, 1, 2, 3], 4), expected, rel_tol=1e-12)


def test_evaluation_leaves_training_mode_and_gradients_alone():
    net = RNNLM(7, "lstm", num_hiddens=8, num_layers=2, dropout=0.5).train()
    a = evaluate_lm(net, torch.arange(30) % 7, 4, 5)
    b = evaluate_lm(net, torch.arange(30) % 7, 4, 5)
    assert net.training and a == b  # dropout off while evaluating, so two passes agree
    assert all(p.grad is None for p in net.parameters())
