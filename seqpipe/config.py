"""Stage configurations (pydantic) shared by the CLI, tasks and flows, and environment Settings.

Every output stores the config that made it (`model_dump()`), next to `SCHEMA_VERSION`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ByteSize,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)
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
    malloc_tuning: bool = Field(True, description="training on a CPU: keep freed memory in the process "
                                "(glibc mallopt; 1.3-1.7x the tokens/s, the peak heap stays until exit)")


class FrozenConfig(BaseModel):
    """The base of every stage config: unknown keys are refused, and a config never changes once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def split_fractions(value: Any) -> tuple[float, ...] | None:
    """A split as train[, valid] fractions: '0.9,0.05', 0.9 or a sequence; None, '' or 'none' is no split.

    >>> split_fractions("0.9,0.05"), split_fractions(0.8), split_fractions("none")
    ((0.9, 0.05), (0.8,), None)
    """
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (float(value),)
    return parse_fractions(value)


# train[, valid] fractions of a corpus, the rest is test; None: no split. Every config's split is this type.
Split = Annotated[tuple[float, ...] | None, BeforeValidator(split_fractions)]

_BYTES = TypeAdapter(ByteSize)


def byte_size(value: Any) -> ByteSize:
    """A positive size in bytes: an int, or a string pydantic's ByteSize reads ('16MiB', '4GiB', '2G').

    >>> byte_size("16MiB"), byte_size("2G")
    (16777216, 2000000000)
    """
    try:
        size = _BYTES.validate_python(value)
    except ValidationError:
        size = ByteSize(0)
    if size <= 0:
        raise ValueError(f"size {value!r}: use a positive number with an optional unit (KiB, MiB, GiB, KB, MB, GB)")
    return size


def int_list(value: Any) -> tuple[int, ...]:
    """Integers from '1,2,3' or a sequence; an empty list is left for the config to refuse.

    >>> int_list("1, 4,16"), int_list([2, "3"])
    ((1, 4, 16), (2, 3))
    """
    items = value.split(",") if isinstance(value, str) else value
    try:
        return tuple(int(x) for x in items if str(x).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{value!r}: expected a comma-separated list of integers") from None


# a size in bytes, > 0: an int, or a string such as '16MiB', '4GiB', '2G'
Size = Annotated[ByteSize, BeforeValidator(byte_size)]


def memory_limit(value: Any) -> ByteSize | Literal["auto"]:
    """A size in bytes, or 'auto' (Dask's share of the machine)."""
    if value == "auto":
        return "auto"
    try:
        return byte_size(value)
    except ValueError as exc:
        raise ValueError(f"{exc}, or auto") from None


MemoryLimit = Annotated[Literal["auto"] | ByteSize, BeforeValidator(memory_limit)]
# integers, from a comma list too ('1,2,3')
IntList = Annotated[tuple[int, ...], BeforeValidator(int_list)]


def cli(name: str | None = None, *, grid: bool = False) -> dict[str, Any]:
    """A field's command-line metadata (its `json_schema_extra`): the option's name where it is not the
    field's, and whether a comma list of values makes a grid of trials."""
    return {"cli": name, "grid": grid} if name else {"grid": grid}


class TextConfig(FrozenConfig):
    """How raw lines become tokens."""

    normalize: Normalize = Field("d2l", description="d2l: letters only, lower case (the book); unicode: NFKC, "
                                 "case-folded; raw: as read")
    tokens: TokenUnit = Field("word", description="words or characters")
    boundary: Boundary = Field("flat", description="where n-grams stop: nowhere (flat, the book), at line or "
                               "document ends")


class CorpusConfig(FrozenConfig):
    """Where the text comes from: named corpora (`timemachine`), paths, directories, globs or URLs."""

    sources: Sources = ("timemachine",)
    name: str | None = Field(None, description="corpus name in the output tree; derived from sources if unset")
    binary_invalid_fraction: float = Field(0.5, ge=0, le=1,
                                           description="skip files whose head has a larger share of invalid UTF-8")
    max_line_bytes: Size = Field(ByteSize(64 * 2**20),
                                 description="longer lines are skipped and counted, never read whole")


class NgramConfig(FrozenConfig):
    """What to count and how to cut the work."""

    orders: IntList = Field((1, 2, 3), description="n-gram orders to count, 1..5")
    min_freq: int = Field(0, ge=0, description="vocabulary cut (the book's min_freq); counts stay exact")
    blocksize: Size = Field(ByteSize(16 * 2**20), description="bytes per partition, e.g. 16MiB")
    workers: int = Field(2, ge=0, description="local Dask workers, at most the cores and partitions; 0 runs in this process")
    memory_limit: MemoryLimit = Field(ByteSize(4 * 2**30), description="memory limit per local worker (e.g. 4GiB), or auto")
    buckets: int = Field(0, ge=0, description="w1-range buckets for the merge (0: chosen from the corpus size)")
    reuse_counts: bool = Field(True, description="cache per-partition counts so a refresh skips unchanged input")
    split: Split = Field(
        None, description="train[,valid] fractions of the lines (rest test): also write lm/ counts and tokens/")
    lm_order: int | None = Field(None, ge=1, le=5, description="highest order of the lm/ counts (default: max of orders)")
    lm_boundary: Literal["line", "flat"] = Field(
        "line", description="lm/ counts: line (<s> ... </s> per line, as lmplz) or flat (the training range is one sentence)")

    @field_validator("orders")
    @classmethod
    def _valid_orders(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if not v:
            raise ValueError("expected at least one integer")
        if any(not 1 <= n <= 5 for n in v):
            raise ValueError(f"orders {list(v)}: each order must be between 1 and 5")
        return tuple(sorted(set(v)))

