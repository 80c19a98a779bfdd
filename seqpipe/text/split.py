"""Contiguous train / valid / test splits by lines: the one split n-gram and neural LMs share."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class LineSplit:
    """Contiguous line ranges of a normalized corpus; empty lines dropped after the split."""

    train: list[str]
    valid: list[str]
    test: list[str]


def parse_fractions(spec: str | Sequence[float]) -> tuple[float, ...]:
    """Parse '0.9' or '0.9,0.05' (train[, valid]); the rest is test.

    >>> parse_fractions("0.9,0.05")
    (0.9, 0.05)
    """
    values = tuple(float(x) for x in spec.split(",")) if isinstance(spec, str) else tuple(map(float, spec))
    if not 1 <= len(values) <= 2 or any(not 0 < v < 1 for v in values) or sum(values) >= 1 + 1e-12:
        raise ValueError(f"split {spec!r}: give train[,valid] fractions in (0, 1) summing to less than 1")
    return values


def split_lines(lines: Sequence[str], fractions: str | Sequence[float] = (0.9,)) -> LineSplit:
    """Cut lines into contiguous ranges: first `train` fraction, then `valid`, rest `test`.

    Cut points are `int(fraction * len(lines))` over all lines (empty ones included), then empty lines
    are dropped, as KenLM users do with `head`/`tail`.

    >>> s = split_lines(["a", "", "b", "c", "d", "e", "f", "g", "h", "i"], "0.8")
    >>> s.train, s.valid, s.test
    (['a', 'b', 'c', 'd', 'e', 'f', 'g'], [], ['h', 'i'])
    """
    fr = parse_fractions(fractions)
    n = len(lines)
    cut_train = int(fr[0] * n)
    cut_valid = int((fr[0] + (fr[1] if len(fr) > 1 else 0.0)) * n)
    keep = lambda part: [line for line in part if line.strip()]
    return LineSplit(keep(lines[:cut_train]), keep(lines[cut_train:cut_valid]), keep(lines[cut_valid:]))
