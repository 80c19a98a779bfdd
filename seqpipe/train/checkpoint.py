"""Checkpoints: one atomic `torch.save` per epoch, read back with `torch.load(weights_only=True)`.

A checkpoint holds tensors and plain Python values only (dicts, lists, str, int, float, bool, None),
so the safe loader reads it without allow-listing any class:

    kind, schema_version, seqpipe_version
    config       the LMRunConfig as a dict          vocab, vocab_hash   the token list and its fingerprint
    model        latest weights (state_dict)        optimizer           its state_dict
    best_model   weights of the best valid epoch, or None
    ema          the weight average (seqpipe.train.averaging) when the run keeps one, or None
    rng          Python / NumPy / torch (/ CUDA) generator states
    iterator     BatchStream.state_dict()           loop                epoch, step, history, early stopping
    temperature  the softmax temperature fitted on valid after training (seqpipe.eval.calibration); absent
                 before then and in older checkpoints (read as 1)

A checkpoint with a non-finite weight is never written.
"""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import torch

from seqpipe import SCHEMA_VERSION, __version__
from seqpipe.io import atomic_path

CHECKPOINT_KIND = "seqpipe.lm-checkpoint"


class NonFiniteError(RuntimeError):
    """A loss, gradient or weight became NaN or infinite."""


def first_non_finite(state_dict: dict[str, torch.Tensor] | None) -> str | None:
    """Name of the first tensor holding NaN or inf, or None.

    >>> first_non_finite({"w": torch.ones(2), "b": torch.tensor([0.0, float("nan")])})
    'b'
    """
    for name, value in (state_dict or {}).items():
        if (
            isinstance(value, torch.Tensor)
            and value.is_floating_point()
            and not bool(torch.isfinite(value).all())
        ):
            return name
    return None


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write a checkpoint atomically (temp file + fsync + rename); refuse non-finite weights."""
    for key in ("model", "best_model"):
        bad = first_non_finite(payload.get(key))
        if bad is not None:
            raise NonFiniteError(f"weight {bad!r} is not finite; checkpoint {path} not written")
    document = {"kind": CHECKPOINT_KIND, "schema_version": SCHEMA_VERSION, "seqpipe_version": __version__}
    document.update(payload)
    with atomic_path(path) as tmp:
        torch.save(document, tmp)
    return Path(path)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with the safe loader (`weights_only=True`) and check what it is."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        document = torch.load(path, map_location=map_location, weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:  # refused or corrupt
        raise ValueError(
            f"{path}: not a readable seqpipe checkpoint ({' '.join(str(exc).split())[:200]})"
        ) from None
    if not isinstance(document, dict) or document.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"{path}: not a seqpipe language-model checkpoint")
    if document.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(
            f"{path}: schema version {document.get('schema_version')}, this seqpipe reads {SCHEMA_VERSION}"
        )
    return document


def plain(value: Any) -> Any:
    """Turn tuples into lists and NumPy scalars into Python numbers, recursively (for safe loading).

    >>> plain({"a": (1, 2.0), "b": [None, "x"]})
    {'a': [1, 2.0], 'b': [None, 'x']}
    """
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return value
    if hasattr(value, "item") and not isinstance(value, torch.Tensor):
        return value.item()
    return value


def final_weights(document: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The weights a run ends with: its best valid epoch's, else its weight average's, else the latest."""
    if document.get("best_model"):
        return document["best_model"]
    if document.get("ema"):
        return {**document["model"], **document["ema"]["shadow"]}
    return document["model"]
