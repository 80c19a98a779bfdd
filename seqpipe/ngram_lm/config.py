"""Configuration of the n-gram language model stage (`seqpipe lm`, the `ngram-lm` flow)."""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field, field_validator

from seqpipe.config import FrozenConfig, Split
from seqpipe.text.normalize import Normalize
from seqpipe.text.tokenize import TokenUnit

Smoothing = Literal["mkn", "addk", "mle"]
LMBoundary = Literal["line", "flat"]
MAX_ORDER = 5
KENLM_FALLBACK = (0.5, 1.0, 1.5)  # `lmplz --discount_fallback` defaults for D1, D2, D3+


class NgramLMConfig(FrozenConfig):
    """How an n-gram LM is estimated and evaluated.

    >>> NgramLMConfig(order=4, split="0.9").split
    (0.9,)
    >>> try:
    ...     NgramLMConfig(order=6)
    ... except ValueError as exc:
    ...     print(exc.errors()[0]["msg"])
    Value error, order 6: choose an order between 1 and 5
    """

    order: int = Field(3, description="n-gram order, 1..5")
    smoothing: Smoothing = Field("mkn", description="mkn (interpolated modified Kneser-Ney, as lmplz), addk, mle")
    k: float = Field(1.0, description="add-k pseudo-count (Laplace when 1)")
    split: Split = Field((0.9,), description="train[,valid] fractions of the lines; the rest is test")
    normalize: Normalize = Field("d2l", description="d2l: letters only, lower case (the book); unicode; raw")
    tokens: TokenUnit = Field("word", description="words or characters")
    boundary: LMBoundary = Field("line", description="line: <s> ... </s> per line; flat: one stream")
    discount_fallback: tuple[float, float, float] = Field(
        KENLM_FALLBACK, description="D1, D2, D3+ used where count-of-counts cannot give discounts"
    )

    @field_validator("order", mode="before")
    @classmethod
    def _order(cls, v: object) -> object:
        if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= MAX_ORDER:
            raise ValueError(f"order {v!r}: choose an order between 1 and {MAX_ORDER}")
        return v

    @field_validator("k")
    @classmethod
    def _k(cls, v: float) -> float:
        if not math.isfinite(v) or v <= 0:
            raise ValueError(f"k={v}: the add-k pseudo-count must be a positive number")
        return v

    @field_validator("split")
    @classmethod
    def _split(cls, v: tuple[float, ...] | None) -> tuple[float, ...]:
        if v is None:
            raise ValueError("split none: an n-gram LM is scored on the lines after its train[,valid] fractions")
        return v

    @field_validator("discount_fallback")
    @classmethod
    def _fallback(cls, v: tuple[float, float, float]) -> tuple[float, float, float]:
        for j, d in enumerate(v, start=1):
            if not 0 <= d <= j:
                raise ValueError(f"discount_fallback D{j}={d}: must lie in [0, {j}]")
        return v
