"""Weight averaging (`--ema`) is what validation judges and a run keeps; CPU threads stay within the cores."""

from __future__ import annotations

import pytest
import torch

from seqpipe.eval.perplexity import evaluate_lm
from seqpipe.models.rnn_lm import build_lm
from seqpipe.train.averaging import WeightAverage
from seqpipe.train.checkpoint import final_weights, load_checkpoint
from seqpipe.train.config import LMDataConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.loop import fit
from seqpipe.train.seed import seed_everything


@pytest.fixture(scope="module")
def corpus(shared_data):
    return build_corpus(LMDataConfig(split="0.9,0.05"))


def test_the_average_follows_the_warmed_up_exponential_formula():
    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    avg = WeightAverage(model, decay=0.7)
    expected = 0.0
    for n, value in enumerate([1.0, -2.0, 4.0, 0.5, 3.0, 3.0, -1.0], start=1):
        with torch.no_grad():
            model.weight.fill_(value)
        avg.update(model)
        decay = min(0.7, (1 + n) / (10 + n))  # plain-Python oracle of the warm-up rule
        expected = decay * expected + (1 - decay) * value
        assert avg.shadow["weight"].flatten().tolist() == pytest.approx([expected] * 3, rel=1e-6)
    assert avg.updates == 7


def test_applied_swaps_the_average_in_and_the_weights_back():
    model = torch.nn.Linear(2, 2)
    avg = WeightAverage(model, decay=0.5)
    own = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    moved = {k: v.clone() for k, v in model.state_dict().items()}
    with avg.applied(model):
        assert all(torch.equal(model.state_dict()[k], own[k]) for k in own)
    assert all(torch.equal(model.state_dict()[k], moved[k]) for k in moved)


@pytest.mark.parametrize("restore_best", [True, False])
def test_a_run_validates_and_ends_with_the_averaged_weights(corpus, tmp_path, restore_best):
    seed_everything(0)
    model = build_lm("gru", len(corpus.vocab), hidden=32, embedding=8)
    cfg = LMTrainConfig(optimizer="adam", lr=0.01, ema=0.95, epochs=2, batch_size=16, num_steps=16,
                        restore_best=restore_best)
    ckpt = tmp_path / "ckpt.pt"
    result = fit(model, corpus.train[:6000], corpus.valid[:1500], cfg, checkpoint_path=str(ckpt))
    saved = load_checkpoint(ckpt)
    shadow = saved["ema"]["shadow"]
    final_epoch = result.best_epoch if restore_best else result.history[-1].epoch
    expected = saved["best_model"] if restore_best else shadow
    for name, value in model.state_dict().items():
        assert torch.equal(value, expected[name]), name  # the run keeps the average, not its last raw weights
    assert not all(torch.equal(saved["model"][k], shadow[k]) for k in shadow)  # raw weights stay for resume
    record = next(r for r in result.history if r.epoch == final_epoch)
    again = evaluate_lm(model, corpus.valid[:1500], 16, 16)
    assert again.nll_sum == pytest.approx(record.valid_nll, rel=1e-6)  # validation judged these weights
    assert result.valid is not None and result.valid.nll_sum == pytest.approx(record.valid_nll, rel=1e-6)
    if not restore_best:  # no best epoch kept: generation reads the average from the checkpoint
        assert all(torch.equal(final_weights({**saved, "best_model": None})[k], shadow[k]) for k in shadow)


def test_decay_must_be_a_fraction():
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(torch.nn.Linear(1, 1), decay=1.0)
    with pytest.raises(ValueError):
        LMTrainConfig(ema=1.0)


def test_torch_threads_never_exceed_the_usable_cores_and_are_restored(monkeypatch):
    from seqpipe.train import seed as seed_mod

    monkeypatch.setattr(seed_mod, "usable_cpus", lambda: 1)
    before = torch.get_num_threads()
    with seed_mod.torch_threads(8):
        assert torch.get_num_threads() == 1  # 8 threads on 1 core would spin (STACK-NOTES)
    assert torch.get_num_threads() == before


def test_reported_valid_uses_eval_rows_while_selection_uses_valid_rows(shared_data, tmp_path):
    from seqpipe.train.config import LMModelConfig, LMRunConfig
    from seqpipe.train.generate import load_model
    from seqpipe.train.run import train_lm

    cfg = LMRunConfig(
        data=LMDataConfig(max_tokens=4000),
        model=LMModelConfig(kind="gru", hidden=16, embedding=8),
        train=LMTrainConfig(optimizer="adam", lr=0.01, epochs=1, batch_size=8, num_steps=16, eval_batch_size=1,
                            valid_batch_size=16),
    )
    result = train_lm(cfg, tmp_path)
    model, _, _ = load_model(result.checkpoint)
    valid = build_corpus(cfg.data).valid
    one_stream = evaluate_lm(model, valid, 1, 16)  # the reported figures are the calibrated model's
    model.temperature = 1.0  # the history's, the model's as trained
    sixteen_rows = evaluate_lm(model, valid, 16, 16)
    assert one_stream.nll_sum != pytest.approx(evaluate_lm(model, valid, 1, 16).nll_sum, rel=1e-4)  # calibrated
    assert evaluate_lm(model, valid, 1, 16).nll_sum != pytest.approx(sixteen_rows.nll_sum, rel=1e-4)  # rows differ
    assert result.valid_ppl == pytest.approx(one_stream.ppl, rel=1e-6)  # the reported figure: one stream
    assert result.history[-1]["valid_ppl"] == pytest.approx(sixteen_rows.ppl, rel=1e-6)  # selection: 16 rows
