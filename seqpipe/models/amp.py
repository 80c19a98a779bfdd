"""Mixed precision: bf16 autocast on CUDA devices that support it, plain float32 everywhere else.

Training steps run under autocast; weights, optimizer state and checkpoints stay float32 (no GradScaler
needed with bf16). Evaluation runs in float32, so perplexities are exact on every device.

>>> autocast_dtype(torch.device("cpu")) is None
True
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def autocast_dtype(device: torch.device | str) -> torch.dtype | None:
    """bfloat16 on a CUDA device that supports it, else None (no autocast).

    The device was chosen (and checked to exist) by `train.seed.resolve_device`; this only asks bf16.
    """
    device = torch.device(device)
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


@contextlib.contextmanager
def autocast(device: torch.device | str) -> Iterator[None]:
    """Run the block under bf16 autocast where `autocast_dtype` says so; a no-op elsewhere."""
    dtype = autocast_dtype(device)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield
