"""The training loop: learning beats the unigram baseline, exact resume, NaN guard, checkpoints, stopping."""

from __future__ import annotations

import datetime

import pytest
import torch

from seqpipe.eval.perplexity import evaluate_lm, unigram_perplexity
from seqpipe.models.rnn_lm import build_lm
from seqpipe.models.rnn_scratch import RNNScratch
from seqpipe.train import seed as seed_mod
from seqpipe.train.checkpoint import CHECKPOINT_KIND, NonFiniteError, load_checkpoint, save_checkpoint
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.generate import build_model
from seqpipe.train.loop import fit
from seqpipe.train.seed import resolve_device, seed_everything


@pytest.fixture(scope="module")
def corpus(shared_data):
    return build_corpus(LMDataConfig(split="0.9,0.05"))


class Stop(Exception):
    pass


def small_ids(corpus, n=3000):
    return corpus.train[:n], corpus.valid[:800]


def test_short_training_beats_the_unigram_baseline(corpus):
    seed_everything(0)
    model = build_lm("gru", len(corpus.vocab), hidden=64)
    cfg = LMTrainConfig(optimizer="adam", lr=0.01, epochs=4, batch_size=32, num_steps=35)
    result = fit(model, corpus.train[:40000], corpus.valid, cfg)
    unigram = unigram_perplexity(corpus.train, corpus.valid, len(corpus.vocab))
    valid = evaluate_lm(model, corpus.valid)
    assert 16 < unigram < 18  # the 27 letters-and-space have a unigram perplexity of about 17
    assert valid.ppl < 0.75 * unigram, (valid.ppl, unigram)
    assert result.history[-1].valid_ppl < result.history[0].valid_ppl < result.history[0].train_ppl
    assert [r.epoch for r in result.history] == [1, 2, 3, 4] and result.stopped == "epochs"


RESUME_CASES = {
    "lstm-adam-dropout-random-cosine": (
        LMModelConfig(kind="lstm", hidden=16, layers=2, embedding=8, dropout=0.3),
        LMTrainConfig(
            optimizer="adam",
            lr=0.01,
            iterator="random",
            schedule="cosine",
            warmup_steps=5,
            batch_size=8,
            num_steps=10,
            epochs=4,
            seed=7,
        ),
    ),
    "gru-adam-weight-average": (  # the average must resume too, or valid and final weights differ
        LMModelConfig(kind="gru", hidden=16, embedding=8),
        LMTrainConfig(optimizer="adam", lr=0.01, ema=0.9, batch_size=8, num_steps=10, epochs=4, seed=5),
    ),
    "scratch-sgd-sequential-plateau": (
        LMModelConfig(kind="scratch-rnn", hidden=24),
        LMTrainConfig(lr=1.0, schedule="plateau", batch_size=8, num_steps=10, epochs=4, seed=3),
    ),
}


@pytest.mark.parametrize("case", RESUME_CASES)
def test_resume_is_bitwise_identical_to_an_uninterrupted_run(corpus, tmp_path, case):
    mcfg, tcfg = RESUME_CASES[case]
    train, valid = small_ids(corpus)

    def new_model(seed):
        seed_everything(seed)
        return build_model(mcfg, len(corpus.vocab))

    whole = new_model(0)
    full = fit(whole, train, valid, tcfg, checkpoint_path=str(tmp_path / "full.pt"))

    def stop_after_two(record):
        if record.epoch == 2:
            raise Stop

    ckpt = tmp_path / "part.pt"
    with pytest.raises(Stop):
        fit(new_model(0), train, valid, tcfg, checkpoint_path=str(ckpt), on_epoch=stop_after_two)
    torch.rand(100)  # anything the process draws in between must not matter
    resumed_model = new_model(123)  # other initial weights: the checkpoint replaces them
    resumed = fit(resumed_model, train, valid, tcfg, checkpoint_path=str(ckpt), resume=load_checkpoint(ckpt))

    assert [r.train_nll for r in resumed.history] == [r.train_nll for r in full.history]
    assert [r.valid_nll for r in resumed.history] == [r.valid_nll for r in full.history]
    assert [r.lr for r in resumed.history] == [r.lr for r in full.history]
    for (name, a), b in zip(whole.state_dict().items(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b), name
    a, b = load_checkpoint(tmp_path / "full.pt"), load_checkpoint(ckpt)
    assert a["loop"]["step"] == b["loop"]["step"] and a["iterator"] == b["iterator"]
    assert all(torch.equal(a["best_model"][k], b["best_model"][k]) for k in a["best_model"])


class Poisoned(RNNScratch):
    """Returns an infinite logit on its `at`-th forward call."""

    def __init__(self, *args, at: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.calls, self.at = 0, at

    def forward(self, X, state):
        self.calls += self.training  # training forwards only, not evaluation
        Y, H = super().forward(X, state)
        return (Y * float("inf") if self.calls == self.at else Y), H


def test_nan_guard_names_the_step_and_keeps_the_last_good_checkpoint(corpus, tmp_path):
    train, valid = small_ids(corpus, 2000)
    cfg = LMTrainConfig(batch_size=8, num_steps=10, epochs=3, seed=0)
    seed_everything(0)
    probe = RNNScratch(len(corpus.vocab), 8)
    first = fit(probe, train, None, cfg.model_copy(update={"epochs": 1})).history[0].steps
    assert first >= 2000 // 8 // 10 - 1
    model = Poisoned(len(corpus.vocab), 8, at=first + 3)
    ckpt = tmp_path / "ckpt.pt"
    with pytest.raises(NonFiniteError, match=rf"at step {first + 3} \(epoch 2, minibatch 3\)"):
        fit(model, train, valid, cfg, checkpoint_path=str(ckpt))
    saved = load_checkpoint(ckpt)
    assert saved["loop"]["step"] == first and saved["iterator"]["epoch"] == 1  # epoch 1's, untouched


def test_nan_in_the_first_step_writes_no_checkpoint(corpus, tmp_path):
    model = RNNScratch(len(corpus.vocab), 8)
    with torch.no_grad():
        model.W_hh[0, 0] = float("nan")
    with pytest.raises(NonFiniteError, match=r"loss is nan at step 1 \(epoch 1, minibatch 1\)"):
        fit(
            model,
            corpus.train[:2000],
            None,
            LMTrainConfig(batch_size=8, num_steps=10, epochs=1),
            checkpoint_path=str(tmp_path / "ckpt.pt"),
        )
    assert not (tmp_path / "ckpt.pt").exists() and not list(tmp_path.iterdir())


def test_checkpoints_load_with_weights_only_and_refuse_anything_else(tmp_path):
    net = build_lm("lstm", 10, hidden=4)
    path = save_checkpoint(tmp_path / "c.pt", {"model": net.state_dict(), "loop": {"history": [{"a": 1.5}]}})
    raw = torch.load(path, weights_only=True)  # the safe loader, nothing allow-listed
    assert raw["kind"] == CHECKPOINT_KIND and torch.equal(raw["model"]["linear.weight"], net.linear.weight)
    torch.save({"kind": CHECKPOINT_KIND, "payload": datetime.date(2020, 1, 1)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a readable seqpipe checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    (tmp_path / "torn.pt").write_bytes(path.read_bytes()[:100])  # a torn copy
    with pytest.raises(ValueError, match="not a readable seqpipe checkpoint"):
        load_checkpoint(tmp_path / "torn.pt")
    torch.save({"kind": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a seqpipe language-model checkpoint"):
        load_checkpoint(tmp_path / "other.pt")
    bad = net.state_dict()
    bad["linear.bias"] = bad["linear.bias"] * float("inf")
    with pytest.raises(NonFiniteError, match="linear.bias"):
        save_checkpoint(tmp_path / "nan.pt", {"model": bad})
    assert not (tmp_path / "nan.pt").exists()


def test_early_stopping_and_restoring_the_best_weights(corpus):
    train, valid = small_ids(corpus)
    seed_everything(0)
    model = build_lm("rnn", len(corpus.vocab), hidden=8)
    weights: dict[int, dict[str, torch.Tensor]] = {}  # the model as each epoch left it

    def keep(record) -> None:
        weights[record.epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    # SGD at lr 5 without clipping: valid improves for a few epochs, then gets worse; which epoch is best
    # depends on the CPU's float kernels, so the test reads it from the history
    cfg = LMTrainConfig(lr=5, clip=0, batch_size=8, num_steps=10, epochs=10, patience=2, precision="float32")
    result = fit(model, train, valid, cfg, on_epoch=keep)
    best, last = result.best_epoch, len(result.history)
    assert result.stopped == "early-stopping" and 1 < best and last == best + 2  # two epochs of patience
    ppl = [record.valid_ppl for record in result.history]
    assert ppl[best - 1] == min(ppl) and ppl[-1] > ppl[best - 1]
    assert not all(torch.equal(weights[best][k], weights[last][k]) for k in weights[best])  # the last epoch moved them
    assert all(torch.equal(weights[best][k], v) for k, v in model.state_dict().items())  # the best is restored
    assert evaluate_lm(model, valid).ppl == pytest.approx(ppl[best - 1], rel=1e-9)


def test_time_budget_stops_mid_epoch(corpus):
    model = build_lm("rnn", len(corpus.vocab), hidden=8)
    result = fit(
        model,
        corpus.train[:5000],
        corpus.valid[:500],
        LMTrainConfig(batch_size=4, num_steps=10, epochs=None, minutes=1e-6),
    )
    assert result.stopped == "time-budget" and result.steps == 1 and not result.history[-1].complete
    assert result.history[-1].valid_ppl is not None


def test_device_auto_picks_cuda_when_present(monkeypatch):
    monkeypatch.setattr(seed_mod.torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    assert resolve_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="no CUDA device"):
        resolve_device("cuda")
    monkeypatch.setattr(seed_mod.torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    assert resolve_device("cpu") == torch.device("cpu")


def test_configs_are_strict():
    with pytest.raises(ValueError, match="extra"):
        LMTrainConfig(learning_rate=1)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="epochs or a time budget"):
        LMTrainConfig(epochs=None)
    with pytest.raises(ValueError, match="one layer"):
        LMModelConfig(kind="scratch-rnn", layers=2)
    with pytest.raises(ValueError, match="split"):
        LMDataConfig(split="0.9,0.2")
    with pytest.raises(ValueError, match="device"):
        LMTrainConfig(device="gpu")
    with pytest.raises(ValueError, match="name"):
        LMRunConfig(name="../x")
    with pytest.raises(ValueError, match="validation range"):
        fit(
            build_lm("rnn", 5, hidden=4),
            torch.arange(500) % 5,
            None,
            LMTrainConfig(patience=1, batch_size=2, num_steps=5),
        )
