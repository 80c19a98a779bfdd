"""CUDA: training, evaluation, checkpoints and resume on a GPU (bf16 autocast where supported).

Tests marked `gpu` run wherever CUDA is present and are skipped elsewhere with that reason; the autocast
choice itself is checked on CPU with CUDA faked.
"""

from __future__ import annotations

import pytest
import torch
from lm_snapshots import make_snapshot, pattern_lines

from seqpipe.eval.dynamic import evaluate_dynamic
from seqpipe.models import amp
from seqpipe.models.rnn_lm import build_lm
from seqpipe.train.checkpoint import load_checkpoint
from seqpipe.train.config import LMRunConfig
from seqpipe.train.generate import load_model
from seqpipe.train.run import train_lm
from seqpipe.train.token_source import ArraySource

NO_CUDA = "no CUDA device: gpu tests run where CUDA is present"


def test_bf16_autocast_where_the_device_multiplies_bf16_natively(monkeypatch):
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": False})
    assert amp.autocast_dtype("cpu") is None  # emulated bf16 is slow: auto keeps float32
    assert amp.autocast_dtype("cpu", "bfloat16") == torch.bfloat16
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": True})
    assert amp.autocast_dtype("cpu") == torch.bfloat16 and amp.autocast_dtype("cpu", "float32") is None
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": False, "avx512_bf16": True})
    assert amp.autocast_dtype("cpu") == torch.bfloat16  # AVX-512 BF16 (AMD Zen 4): 1.5x float32's speed
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert amp.autocast_dtype("cuda") == torch.bfloat16 and amp.autocast_dtype("cuda", "float32") is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert amp.autocast_dtype("cuda:0") is None
    with amp.autocast("cpu", "float32"):
        assert not torch.is_autocast_enabled("cpu")
    with amp.autocast("cpu", "bfloat16"):
        assert torch.is_autocast_enabled("cpu")


def test_bf16_training_on_cpu_keeps_float32_weights(tmp_path, monkeypatch):
    from seqpipe.train import loop

    entered = []

    def spy(device, precision="auto"):
        entered.append(amp.autocast_dtype(device, precision))
        return amp.autocast(device, precision)

    monkeypatch.setattr(loop, "autocast", spy)
    snap = make_snapshot(tmp_path / "s", {"train": pattern_lines(400), "valid": pattern_lines(40, 1),
                                          "test": pattern_lines(40, 2)})
    cfg = _cfg(snap, "cpu", 2, "full")
    cfg = cfg.model_copy(update={"train": cfg.train.model_copy(update={"precision": "bfloat16"})})
    result = train_lm(cfg, tmp_path / "run")
    assert entered and set(entered) == {torch.bfloat16}  # every training step ran under bf16 autocast
    assert result.test_ppl < result.unigram_test_ppl  # and it learned the pattern
    saved = load_checkpoint(tmp_path / "run" / "models" / "g" / "checkpoint.pt")
    assert all(t.dtype == torch.float32 for t in saved["model"].values() if t.is_floating_point())


def _cfg(snap, device: str, epochs: int, softmax: str = "adaptive") -> LMRunConfig:
    return LMRunConfig.model_validate({
        "name": "g", "data": {"snapshot": str(snap), "tokens": "word"},
        "model": {"kind": "lstm", "hidden": 32, "embedding": 16, "softmax": softmax},
        "train": {"batch_size": 8, "num_steps": 10, "epochs": epochs, "optimizer": "adam", "lr": 0.01,
                  "device": device},
    })


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_train_evaluate_checkpoint_and_resume_on_cuda(tmp_path, softmax):
    snap = make_snapshot(tmp_path / "s", {"train": pattern_lines(800), "valid": pattern_lines(50, 1),
                                          "test": pattern_lines(50, 2)})
    first = train_lm(_cfg(snap, "cuda", 1, softmax), tmp_path / "run")
    assert first.device.startswith("cuda") and first.test_ppl < first.unigram_test_ppl
    ckpt = tmp_path / "run" / "models" / "g" / "checkpoint.pt"
    saved = load_checkpoint(ckpt)  # weights_only, mapped to CPU
    assert all(t.device.type == "cpu" for t in saved["model"].values())
    again = train_lm(_cfg(snap, "cuda", 2, softmax), tmp_path / "run", resume=ckpt)
    assert again.epochs == 2 and again.steps > first.steps
    model, _, _ = load_model(ckpt, "cpu")  # a GPU checkpoint generates on CPU
    assert next(model.parameters()).device.type == "cpu"



@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason=NO_CUDA)
def test_dynamic_evaluation_on_cuda_matches_the_cpu():
    # cuDNN's recurrent layers only run backward in training mode: the adapting copy is in it, dropout off
    torch.manual_seed(0)
    model = build_lm("lstm", 30, hidden=32, embedding=8, layers=2, dropout=0.3)
    source = ArraySource(torch.randint(0, 30, (2_001,)))
    on_cpu = evaluate_dynamic(model, source, [(0, 2_001)], 25, 0.3, "cpu", "float32")
    on_gpu = evaluate_dynamic(model.to("cuda"), source, [(0, 2_001)], 25, 0.3, "cuda", "float32")
    assert on_gpu.n_tokens == on_cpu.n_tokens == 2_000
    assert abs(on_gpu.nats_per_token - on_cpu.nats_per_token) < 1e-3, (on_gpu, on_cpu)
