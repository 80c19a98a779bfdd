"""Stage configurations (pydantic) shared by the CLI, tasks and flows, and environment Settings.

Every output stores the config that made it (`model_dump()`), next to `SCHEMA_VERSION`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from seqpipe.text.normalize import Normalize
from seqpipe.text.split import parse_fractions
from seqpipe.text.tokenize import TokenUnit

Boundary = Literal["flat", "line", "document"]


def _at_least_one(sources: tuple[str, ...]) -> tuple[str, ...]:
    if not sources:
        raise ValueError("give at least one corpus source")
    return sources


# Corpus sources as every stage takes them: named corpora, paths, globs or URLs; never empty.
Sources = Annotated[tuple[str, ...], AfterValidator(_at_least_one)]


class Settings(BaseSettings):
    """Environment-level settings, read from `SEQPIPE_*` variables (e.g. `SEQPIPE_DATA_DIR`)."""

    model_config = SettingsConfigDict(env_prefix="SEQPIPE_", extra="ignore")

    data_dir: Path | None = Field(None, description="folder holding named corpora by file name")
    cache_dir: Path = Field(Path.home() / ".cache" / "seqpipe", description="where downloads are kept")
    out: str = Field("./seqpipe-out", description="output root")
    dask_address: str | None = Field(None, description="existing Dask scheduler, e.g. tcp://host:8786")
    offline: bool = Field(False, description="never download; named corpora must be local")


class _Stage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TextConfig(_Stage):
    """How raw lines become tokens."""

    normalize: Normalize = "d2l"
    tokens: TokenUnit = "word"
    boundary: Boundary = "flat"


class CorpusConfig(_Stage):
    """Where the text comes from: named corpora (`timemachine`), paths, directories, globs or URLs."""

    sources: Sources = ("timemachine",)
    name: str | None = Field(None, description="corpus name in the output tree; derived from sources if unset")
    binary_invalid_fraction: float = Field(0.5, ge=0, le=1,
                                           description="skip files whose head has a larger share of invalid UTF-8")
    max_line_bytes: int = Field(64 * 2**20, gt=0,
                                description="longer lines are skipped and counted, never read whole")


class NgramConfig(_Stage):
    """What to count and how to cut the work."""

    orders: tuple[int, ...] = (1, 2, 3)
    min_freq: int = Field(0, ge=0, description="vocabulary cut (the book's min_freq); counts stay exact")
    blocksize: int = Field(16 * 2**20, gt=0, description="bytes per partition")
    workers: int = Field(2, ge=0, description="local Dask workers; 0 runs in this process")
    memory_limit: str = Field("4GiB", description="per local worker")
    buckets: int = Field(0, ge=0, description="w1-range buckets for the merge (0: chosen from the corpus size)")
    reuse_counts: bool = Field(True, description="cache per-partition counts so a refresh skips unchanged input")
    split: tuple[float, ...] | None = Field(
        None, description="train[,valid] fractions of the lines (rest test): also write lm/ counts and tokens/")
    lm_order: int | None = Field(None, ge=1, le=5, description="highest order of the lm/ counts (default: max of orders)")
    lm_boundary: Literal["line", "flat"] = Field(
        "line", description="lm/ counts: line (<s> ... </s> per line, as lmplz) or flat (the training range is one sentence)")

    @field_validator("split", mode="before")
    @classmethod
    def _split(cls, v: object) -> tuple[float, ...] | None:
        if v is None or v == "" or v == "none":
            return None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            v = (float(v),)
        return parse_fractions(v)  # type: ignore[arg-type]

    @field_validator("orders")
    @classmethod
    def _valid_orders(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v or any(not 1 <= n <= 5 for n in v):
            raise ValueError(f"orders {list(v)}: each order must be between 1 and 5")
        return tuple(sorted(set(v)))


def parse_size(text: str | int) -> int:
    """Parse a byte size like '16MiB', '64MB', '4096'.

    >>> parse_size("16MiB")
    16777216
    """
    if isinstance(text, int):
        return text
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30}
    s = text.strip().lower()
    number = s.rstrip("abgikm")
    unit = s[len(number) :]
    if unit not in units or not number:
        raise ValueError(f"size {text!r}: use a positive number with an optional unit (KiB, MiB, GiB, KB, MB, GB)")
    try:
        value = int(float(number) * units[unit])
    except ValueError:
        value = 0
    if value <= 0:
        raise ValueError(f"size {text!r}: use a positive number with an optional unit (KiB, MiB, GiB, KB, MB, GB)")
    return value


def parse_int_list(text: str) -> tuple[int, ...]:
    """Parse '1,2,3' into (1, 2, 3).

    >>> parse_int_list("1, 4,16")
    (1, 4, 16)
    """
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        raise ValueError(f"{text!r}: expected a comma-separated list of integers") from None
    if not values:
        raise ValueError("expected at least one integer")
    return values
