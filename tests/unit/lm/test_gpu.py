"""CUDA: training, evaluation, checkpoints and resume on a GPU (bf16 autocast where supported).

Tests marked `gpu` run wherever CUDA is present and are skipped elsewhere with that reason; the autocast
choice itself is checked on CPU with CUDA faked.
"""

from __future__ import annotations

import pytest
import torch
from lm_snapshots import make_snapshot, pattern_lines

from seqpipe.models import amp
from seqpipe.train.checkpoint import load_checkpoint
from seqpipe.train.config import LMRunConfig
from seqpipe.train.generate import load_model
from seqpipe.train.run import train_lm

NO_CUDA = "no CUDA device: gpu tests run where CUDA is present"


def test_bf16_autocast_only_on_cuda_that_supports_it(monkeypatch):
    assert amp.autocast_dtype("cpu") is None
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert amp.autocast_dtype("cuda") == torch.bfloat16 and amp.autocast_dtype("cpu") is None
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    assert amp.autocast_dtype("cuda:0") is None
    with amp.autocast("cpu"):  # a no-op off CUDA
        assert not torch.is_autocast_enabled()


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

