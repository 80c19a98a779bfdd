"""Seeds, random-number-generator state as checkpointable values, device choice and CPU threads."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch

from seqpipe.parallel import usable_cpus


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds CUDA devices too


def rng_state() -> dict[str, Any]:
    """Every global generator's state, as tensors and plain Python values (loadable with weights_only).

    >>> seed_everything(0); state = rng_state(); a = torch.rand(1)
    >>> set_rng_state(state); bool(torch.equal(a, torch.rand(1)))
    True
    """
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state(legacy=True)
    state: dict[str, Any] = {
        "python": [version, list(internal), gauss],
        "numpy": [kind, keys.tolist(), int(pos), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what `rng_state` returned."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def resolve_device(spec: str = "auto") -> torch.device:
    """'auto' is CUDA when present, else CPU; anything else is taken as given.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(spec)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {spec!r} asked for, but torch sees no CUDA device")
    return device


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Use `n` torch CPU threads inside the block (never more than the usable cores), then the caller's.

    More threads than cores is the 10x slowdown of STACK-NOTES: OpenMP threads spin waiting for each other.
    """
    if n is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(n, usable_cpus())))
    try:
        yield
    finally:
        torch.set_num_threads(before)
