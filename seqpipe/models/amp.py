"""Mixed precision: bf16 autocast where the hardware multiplies bf16 natively, float32 everywhere else.

Training steps run under autocast; weights, optimizer state and checkpoints stay float32 (no GradScaler
needed with bf16). Evaluation runs in float32, so perplexities are exact on every device.

`precision` is a training setting: `auto` uses bf16 on a CUDA device that supports it and on a CPU that
multiplies bf16 in hardware: AMX tiles (Intel Sapphire Rapids and later, where an LSTM step runs ~2.5x
faster than in float32) or AVX-512 BF16 dot products (AMD Zen 4 and later, Intel Cooper Lake: the
pipeline's LSTM 28.7 k tokens/s vs 19.2 k in float32 on a 2-core AMD EPYC); a CPU without either emulates
bf16 slowly, so `auto` keeps float32 there. `bfloat16` and `float32` force one.

>>> autocast_dtype("cpu", "float32") is None
True
>>> autocast_dtype("cpu", "bfloat16")
torch.bfloat16
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def native_bf16(device: torch.device | str) -> bool:
    """Whether `device` multiplies bf16 in hardware (CUDA bf16 support, a CPU with AMX or AVX-512 BF16)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        capabilities = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
        native = capabilities.get("amx_bf16") or capabilities.get("avx512_bf16")
        return bool(native) and torch.backends.mkldnn.is_available()
    return False


def autocast_dtype(device: torch.device | str, precision: str = "auto") -> torch.dtype | None:
    """bfloat16 when `precision` asks for it (or `auto` and the device is native bf16), else None.

    The device was chosen (and checked to exist) by `train.seed.resolve_device`.
    """
    if precision == "bfloat16" or (precision == "auto" and native_bf16(device)):
        return torch.bfloat16
    return None


@contextlib.contextmanager
def autocast(device: torch.device | str, precision: str = "auto") -> Iterator[None]:
    """Run the block under bf16 autocast where `autocast_dtype` says so; a no-op elsewhere."""
    dtype = autocast_dtype(device, precision)
    if dtype is None:
        yield
        return
    with torch.autocast(device_type=torch.device(device).type, dtype=dtype):
        yield
