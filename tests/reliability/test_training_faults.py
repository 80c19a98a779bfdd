"""Training under faults: a kill while a checkpoint is written, and a checkpoint that carries code."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from seqpipe.train.checkpoint import load_checkpoint, save_checkpoint

pytestmark = pytest.mark.reliability

# Trains one epoch (checkpoint 1), then a second whose checkpoint write is killed half-way with SIGKILL.
KILLED_DURING_SAVE = textwrap.dedent(
    """
    import os, signal, sys
    import torch
    import seqpipe.train.checkpoint as ckpt
    from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
    from seqpipe.train.run import train_lm

    out = sys.argv[1]
    cfg = LMRunConfig(data=LMDataConfig(max_tokens=2000), model=LMModelConfig(kind="gru", hidden=8),
                      train=LMTrainConfig(epochs=1, batch_size=4, num_steps=8, threads=1))
    train_lm(cfg, out)
    real_save = torch.save

    def torn_save(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        with open(f, "r+b") as fh:  # leave half a file, then die as a kill -9 would
            fh.truncate(os.path.getsize(f) // 2)
        os.kill(os.getpid(), signal.SIGKILL)

    ckpt.torch.save = torn_save
    train_lm(cfg.model_copy(update={"train": cfg.train.model_copy(update={"epochs": 2})}), out,
             resume=os.path.join(out, "models", "gru", "checkpoint.pt"))
    """
)


@pytest.mark.timeout(120)
def test_kill_during_checkpoint_save_keeps_the_previous_checkpoint(tmp_path, shared_data):
    run = subprocess.run([sys.executable, "-c", KILLED_DURING_SAVE, str(tmp_path)], capture_output=True, text=True,
                         timeout=110)
    assert run.returncode == -9, run.stderr[-2000:]  # it really died inside the save
    folder = tmp_path / "models" / "gru"
    document = load_checkpoint(folder / "checkpoint.pt")  # the epoch-1 checkpoint, whole
    assert len(document["loop"]["history"]) == 1  # epoch 1's, not a torn epoch 2
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".checkpoint.pt.")]
    assert leftovers, "the torn write went to a temporary file"
    assert all(p.endswith(".tmp") for p in leftovers)


class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_payload_in_a_checkpoint_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"kind": "seqpipe.lm-checkpoint", "model": _Payload(marker)}, tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="not a readable seqpipe checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()
    # the same file through plain torch.load without the safe loader would have run it: prove the payload is live
    torch.load(tmp_path / "evil.pt", weights_only=False)
    assert marker.exists()


def test_non_finite_weights_are_never_written(tmp_path):
    weights = {"w": torch.tensor([1.0, float("nan")])}
    with pytest.raises(RuntimeError, match="w"):
        save_checkpoint(tmp_path / "c.pt", {"model": weights})
    assert not (tmp_path / "c.pt").exists()
