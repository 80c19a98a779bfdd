"""Series sources: the book's noisy sine, and one numeric column of a CSV or Parquet file.

Empty and NA cells are *missing*: the policy interpolates them (by position: the series is taken as
regularly spaced), drops them, or refuses them, and every one is counted. Anything else that is not a
finite number (text, inf) is an error naming the row, so no NaN or inf can ever reach a loss.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.fetch import resolve_named
from seqpipe.corpus.registry import NAMED
from seqpipe.series.config import MissingPolicy, SeriesConfig

# cell texts (case-insensitive, stripped) that mean "no value here" rather than "bad value"
MISSING_MARKERS = frozenset({"", "na", "nan", "n/a", "null", "none"})
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class Series:
    """A clean univariate series: finite float64 values, their time stamps, and what cleaning did."""

    values: np.ndarray
    time: np.ndarray
    name: str
    n_read: int = 0
    n_missing: int = 0
    n_interpolated: int = 0
    n_dropped: int = 0
    missing_policy: str = "none"
    origin: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.values)

    def summary(self) -> dict[str, Any]:
        """What was read and how missing cells were handled, for metrics.json."""
        return {
            "name": self.name,
            "n_points": len(self.values),
            "n_read": self.n_read,
            "n_missing": self.n_missing,
            "n_interpolated": self.n_interpolated,
            "n_dropped": self.n_dropped,
            "missing_policy": self.missing_policy,
            **self.origin,
        }


def sine_series(length: int = 1000, noise_std: float = 0.2, freq: float = 0.01, seed: int = 0) -> Series:
    """The book's data: time = 1..T (float32), x = sin(freq * time) + N(0, noise_std^2), seeded.

    >>> s = sine_series(1000, seed=0)
    >>> len(s), float(s.time[0]), float(s.time[-1])
    (1000, 1.0, 1000.0)
    >>> bool(np.array_equal(s.values, sine_series(1000, seed=0).values))
    True
    """
    time = torch.arange(1, length + 1, dtype=torch.float32)
    gen = torch.Generator().manual_seed(seed)
    x = torch.sin(freq * time) + torch.normal(0.0, noise_std, (length,), generator=gen)
    return Series(
        values=x.numpy().astype(np.float64),
        time=time.numpy().astype(np.float64),
        name="sine",
        n_read=length,
        origin={"source": "sine", "noise_std": noise_std, "freq": freq, "seed": seed},
    )


def load_series(cfg: SeriesConfig) -> Series:
    """The series a config describes (the sine, or a file column)."""
    if cfg.source == "sine":
        return sine_series(cfg.length, cfg.noise_std, cfg.freq, cfg.seed)
    assert cfg.path is not None  # the config's validator guarantees it
    return read_column(cfg.path, cfg.column, cfg.time_column, cfg.missing)


def resolve_path(path: str) -> Path:
    """A local file path, or the verified local copy of a named series ('sunspots', 'co2')."""
    p = Path(path).expanduser()
    if p.is_file():
        return p
    if path in NAMED:
        return resolve_named(path)
    if p.exists():
        raise CorpusError(f"{path}: not a file")
    named = sorted(n for n, d in NAMED.items() if d.filename.endswith((".csv", *PARQUET_SUFFIXES)))
    raise CorpusError(f"{path}: no such file (and not a named series: {', '.join(named)})")


def read_column(
    path: str, column: str | None, time_column: str | None = None, missing: MissingPolicy = "interpolate"
) -> Series:
    r"""Read one numeric column (and an optional time column) of a CSV or Parquet file, cleaned.

    Without a `column`, the table's only numeric column other than the time column is read.

    >>> import tempfile
    >>> path = Path(tempfile.mkdtemp()) / "level.csv"
    >>> _ = path.write_text("year,level\n1700,5\n1701,\n1702,NA\n1703,11\n")
    >>> s = read_column(str(path), "level", "year")
    >>> s.values.tolist(), s.time.tolist(), (s.n_missing, s.n_interpolated)
    ([5.0, 7.0, 9.0, 11.0], [1700, 1701, 1702, 1703], (2, 2))
    """
    file = resolve_path(path)
    wanted = [time_column] if time_column else []
    frame = _read_table(file, [column, *wanted] if column else None, wanted)
    column = column or infer_column(file, frame, time_column)
    values = _numbers(frame[column], f"{file.name}: column {column!r}")
    time = (
        _time_values(frame[time_column], f"{file.name}: time column {time_column!r}") if time_column else None
    )
    n_read = len(values)
    is_missing = np.isnan(values)
    n_missing = int(is_missing.sum())
    if n_missing == n_read:
        raise CorpusError(f"{file.name}: column {column!r} has no values ({n_read} rows, all empty)")
    if n_missing and missing == "error":
        first = int(np.flatnonzero(is_missing)[0]) + 1
        raise CorpusError(
            f"{file.name}: column {column!r} has {n_missing} missing cells (first at data row {first}); "
            "use missing=interpolate or missing=drop"
        )
    keep = np.ones(n_read, dtype=bool)
    n_interpolated = 0
    if missing == "drop":
        keep = ~is_missing
    elif n_missing:
        # interior gaps are interpolated linearly by position; leading/trailing ones have no neighbour
        present = np.flatnonzero(~is_missing)
        keep[: present[0]] = False
        keep[present[-1] + 1 :] = False
        interior = is_missing & keep
        values = values.copy()
        values[interior] = np.interp(np.flatnonzero(interior), present, values[present])
        n_interpolated = int(interior.sum())
    positions = np.arange(n_read)
    return Series(
        values=values[keep],
        time=(time if time is not None else positions)[keep],
        name=column,
        n_read=n_read,
        n_missing=n_missing,
        n_interpolated=n_interpolated,
        n_dropped=int((~keep).sum()),
        missing_policy=missing,
        origin={"source": "file", "path": str(file), "column": column, "time_column": time_column},
    )


def _read_table(file: Path, columns: list[str] | None, required: list[str] | None = None) -> pd.DataFrame:
    """`columns` of a table (None: all of them), after checking that `columns` (or `required`) exist."""
    wanted = columns if columns is not None else required or []
    if file.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            available = list(pq.read_schema(file).names)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise CorpusError(f"{file.name}: cannot read as Parquet ({type(exc).__name__}: {exc})") from None
        _check_columns(file, wanted, available)
        return pd.read_parquet(file, columns=list(dict.fromkeys(columns)) if columns is not None else None)
    try:
        # every cell as text, nothing guessed: the checks below decide what is missing and what is bad
        frame = pd.read_csv(
            file, dtype=str, keep_default_na=False, skipinitialspace=True, skip_blank_lines=False
        )
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise CorpusError(f"{file.name}: cannot read as CSV ({type(exc).__name__}: {exc})") from None
    _check_columns(file, wanted, [str(c) for c in frame.columns])
    if frame.shape[1] > 1:
        # a blank line in a one-column file is an empty cell; with several columns it is not a row
        frame = frame[(frame != "").any(axis=1)].reset_index(drop=True)
    return frame


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _is_numeric(raw: pd.Series) -> bool:
    """Whether every cell of a column is a number or missing, and one at least is a number."""
    try:
        return bool((~np.isnan(_numbers(raw, ""))).any())
    except CorpusError:
        return False


def infer_column(file: Path, frame: pd.DataFrame, time_column: str | None = None) -> str:
    """The table's one numeric column besides the time column, or an error listing the numeric columns.

    >>> infer_column(Path("s.csv"), pd.DataFrame({"year": ["1", "2"], "v": ["3", "4"]}), "year")
    'v'
    """
    numeric = [str(c) for c in frame.columns if str(c) != time_column and _is_numeric(frame[c])]
    if len(numeric) == 1:
        return numeric[0]
    months = sum(str(c).strip().lower()[:3] in _MONTHS for c in frame.columns)
    wide = ("; it looks wide (one column per month?): put the series in one column, one value per row"
            if months >= 3 or len(numeric) >= 12 else "")
    raise CorpusError(f"{file.name}: give the column that holds the series (--column); numeric columns: "
                      f"{', '.join(numeric) or 'none'}{wide}")


def _check_columns(file: Path, wanted: list[str], available: list[str]) -> None:
    for name in wanted:
        if name not in available:
            raise CorpusError(f"{file.name}: no column {name!r}; columns are: {', '.join(available)}")


def _numbers(raw: pd.Series, what: str) -> np.ndarray:
    """Float64 values with NaN where a cell is missing; text or inf cells raise, naming the row."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise CorpusError(f"{what} holds booleans, not numbers")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = raw.astype("string").fillna("").str.strip()
        marked_missing = text.str.lower().isin(MISSING_MARKERS).to_numpy()
        values = pd.to_numeric(text.where(~marked_missing, None), errors="coerce").to_numpy(
            dtype=np.float64, na_value=np.nan
        )
        bad = np.isnan(values) & ~marked_missing
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise CorpusError(
                f"{what} is not numeric: data row {row + 1} holds {text.iloc[row]!r} "
                f"({int(bad.sum())} such cells)"
            )
    infinite = np.isinf(values)
    if infinite.any():
        row = int(np.flatnonzero(infinite)[0])
        raise CorpusError(f"{what}: data row {row + 1} is {values[row]}, not a finite number")
    return values


def _time_values(raw: pd.Series, what: str) -> np.ndarray:
    """Time stamps as numbers (years), or dates (ISO text, yyyymmdd integers); present and increasing."""
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_datetime64_any_dtype(raw.dtype):
        stamps = raw
    else:
        text = raw.astype("string").str.strip()
        stamps = pd.to_numeric(text, errors="coerce")
        if stamps.isna().any():
            dates = pd.to_datetime(text, errors="coerce", format="mixed")
            # report against the kind most cells are: its first failure is the odd one out
            stamps = dates if dates.isna().sum() < stamps.isna().sum() else stamps
    if stamps.isna().any():
        row = int(np.flatnonzero(stamps.isna().to_numpy())[0])
        raise CorpusError(f"{what}: data row {row + 1} ({raw.iloc[row]!r}) is neither a number nor a date")
    array = _yyyymmdd_as_dates(stamps.to_numpy())
    steps = np.diff(array)
    not_increasing = np.flatnonzero(steps <= steps.dtype.type(0))
    if len(not_increasing):
        row = int(not_increasing[0]) + 2
        raise CorpusError(f"{what}: not strictly increasing at data row {row} ({raw.iloc[row - 1]!r})")
    return array


def _yyyymmdd_as_dates(stamps: np.ndarray) -> np.ndarray:
    """Integers like 19580329 (co2.csv's dates) become datetimes, so plots and gaps are in real time."""
    if (
        stamps.dtype.kind not in "iu"
        or len(stamps) == 0
        or not (10000101 <= stamps.min() <= stamps.max() <= 99991231)
    ):
        return stamps
    dates = pd.to_datetime(pd.Series(stamps).astype(str), format="%Y%m%d", errors="coerce")
    return stamps if dates.isna().any() else dates.to_numpy()
