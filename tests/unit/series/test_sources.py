"""Series sources: the book's sine, CSV/Parquet columns, the missing-value policies and one-line errors."""

from __future__ import annotations

import csv
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.corpus.errors import CorpusError
from seqpipe.series.config import SeriesConfig
from seqpipe.series.sources import load_series, read_column, sine_series


def _csv(path, header, rows):
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def test_sine_is_the_books_data():
    s = sine_series(1000, noise_std=0.2, seed=0)
    assert s.time.tolist() == [float(t) for t in range(1, 1001)]
    noise = s.values - np.sin(0.01 * s.time)
    # N(0, 0.2^2) over 1000 draws: sample std within ~4.5 standard errors, mean within ~4.5
    assert abs(noise.std() - 0.2) < 0.02 and abs(noise.mean()) < 0.03
    assert np.array_equal(s.values, sine_series(1000, seed=0).values)
    assert not np.array_equal(s.values, sine_series(1000, seed=1).values)
    assert np.allclose(sine_series(50, noise_std=0.0).values, np.sin(0.01 * np.arange(1, 51)), atol=1e-6)


def test_sunspots_matches_the_file(shared_data):
    with open(shared_data / "sunspots.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    s = read_column("sunspots", "SUNACTIVITY", "YEAR")
    assert len(s) == len(rows) == 309
    assert s.values.tolist() == [float(r["SUNACTIVITY"]) for r in rows]
    assert s.time.tolist() == [int(r["YEAR"]) for r in rows]
    assert (s.n_missing, s.n_interpolated, s.n_dropped) == (0, 0, 0)


def test_co2_missing_cells_are_counted_and_interpolated(shared_data):
    with open(shared_data / "co2.csv", newline="") as fh:
        raw = [r["co2"] for r in csv.DictReader(fh)]
    present = np.array([i for i, v in enumerate(raw) if v != ""])
    gaps = np.array([i for i, v in enumerate(raw) if v == ""])
    assert len(gaps) == 59
    s = read_column("co2", "co2", "date", missing="interpolate")
    assert (len(s), s.n_missing, s.n_interpolated, s.n_dropped) == (2284, 59, 59, 0)
    assert np.isfinite(s.values).all()
    known = np.array([float(raw[i]) for i in present])
    assert np.array_equal(s.values[present], known)
    # independent oracle: each gap lies on the straight line between its nearest present neighbours
    for g in gaps[:10]:
        lo, hi = present[present < g].max(), present[present > g].min()
        expected = float(raw[lo]) + (float(raw[hi]) - float(raw[lo])) * (g - lo) / (hi - lo)
        assert math.isclose(s.values[g], expected, rel_tol=1e-12)

    dropped = read_column("co2", "co2", "date", missing="drop")
    assert (len(dropped), dropped.n_missing, dropped.n_dropped) == (2225, 59, 59)
    assert np.array_equal(dropped.values, known)
    dates = [d for i, d in enumerate(_column(shared_data / "co2.csv", "date")) if raw[i] != ""]
    # yyyymmdd integers become real dates (weekly steps, not jumps of 8870 at new year)
    assert [str(t)[:10].replace("-", "") for t in dropped.time] == dates
    assert set(np.diff(s.time).astype("timedelta64[D]").astype(int)) == {7}
    with pytest.raises(CorpusError, match=r"59 missing cells \(first at data row 7\)"):
        read_column("co2", "co2", missing="error")


def _column(path, name):
    with open(path, newline="") as fh:
        return [r[name] for r in csv.DictReader(fh)]


def test_na_markers_are_missing_and_edges_are_dropped(tmp_path):
    path = _csv(tmp_path / "s.csv", "t,v", ["1,", "2,1.0", "3,NA", "4,nan", "5,4.0", "6,null", "7, "])
    s = read_column(path, "v", "t")
    assert s.values.tolist() == [1.0, 2.0, 3.0, 4.0]
    assert s.time.tolist() == [2, 3, 4, 5]
    assert (s.n_read, s.n_missing, s.n_interpolated, s.n_dropped) == (7, 5, 2, 3)
    assert s.summary()["n_points"] == 4


@pytest.mark.parametrize(
    ("rows", "column", "message"),
    [
        (["1,2", "2,3"], "w", "no column 'w'; columns are: t, v"),
        (["1,2", "2,abc", "3,x"], "v", "not numeric: data row 2 holds 'abc' (2 such cells)"),
        (["1,2", "2,inf"], "v", "data row 2 is inf, not a finite number"),
        (["1,2", "2,-Infinity"], "v", "data row 2 is -inf, not a finite number"),
        (["1,", "2,NaN"], "v", "has no values"),
        (["1,2", "1,3"], "v", "time column 't': not strictly increasing at data row 2"),
        (["1,2", "x,3"], "v", "time column 't': data row 2 ('x') is neither a number nor a date"),
    ],
)
def test_bad_cells_are_one_line_errors(tmp_path, rows, column, message):
    path = _csv(tmp_path / "bad.csv", "t,v", rows)
    with pytest.raises(CorpusError) as err:
        read_column(path, column, "t")
    assert message in str(err.value) and "\n" not in str(err.value)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(CorpusError, match="no such file .*named series: co2, sunspots"):
        read_column(str(tmp_path / "nope.csv"), "v")
    with pytest.raises(CorpusError, match="not a file"):
        read_column(str(tmp_path), "v")


def test_parquet_column_with_nan_and_dates(tmp_path):
    frame = pd.DataFrame(
        {
            "day": pd.date_range("2001-01-01", periods=6),
            "v": [1.0, np.nan, 3.0, 4.0, None, 6.0],
            "s": list("abcdef"),
        }
    )
    frame.to_parquet(tmp_path / "x.parquet")
    s = read_column(str(tmp_path / "x.parquet"), "v", "day")
    assert s.values.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert (s.n_missing, s.n_interpolated) == (2, 2)
    assert s.time[0] == np.datetime64("2001-01-01")
    with pytest.raises(CorpusError, match="column 's' is not numeric: data row 1 holds 'a'"):
        read_column(str(tmp_path / "x.parquet"), "s")
    with pytest.raises(CorpusError, match="no column 'w'; columns are: day, v, s"):
        read_column(str(tmp_path / "x.parquet"), "w")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(CorpusError, match="cannot read as Parquet"):
        read_column(str(tmp_path / "junk.parquet"), "v")


def test_load_series_follows_the_config(tmp_path):
    assert len(load_series(SeriesConfig(length=50))) == 50
    path = _csv(tmp_path / "s.csv", "v", ["1", "", "3"])
    s = load_series(SeriesConfig(source="file", path=path, column="v", missing="drop"))
    assert s.values.tolist() == [1.0, 3.0] and s.n_dropped == 1


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False)), min_size=1, max_size=40),
    st.sampled_from(["interpolate", "drop"]),
)
def test_any_missing_pattern_gives_finite_values_and_exact_counts(tmp_path_factory, cells, policy):
    if all(c is None for c in cells):
        return  # covered by the "has no values" error case
    path = tmp_path_factory.mktemp("h") / "h.csv"
    _csv(path, "v", ["" if c is None else repr(c) for c in cells])
    s = read_column(str(path), "v", missing=policy)
    present = [c for c in cells if c is not None]
    assert np.isfinite(s.values).all()
    assert s.n_missing == len(cells) - len(present)
    assert s.n_interpolated + s.n_dropped == s.n_missing
    assert len(s) == len(cells) - s.n_dropped
    # every observed value survives, unchanged and in order
    observed = s.values[[i for i, t in enumerate(s.time) if cells[t] is not None]]
    assert observed.tolist() == present


def test_yyyymmdd_integers_become_dates_only_when_all_are_valid(tmp_path):
    good = read_column(_csv(tmp_path / "a.csv", "d,v", ["19991231,1", "20000107,2"]), "v", "d")
    assert good.time.dtype.kind == "M" and str(good.time[1])[:10] == "2000-01-07"
    bad = read_column(_csv(tmp_path / "b.csv", "d,v", ["20010228,1", "20010230,2"]), "v", "d")
    assert bad.time.tolist() == [20010228, 20010230]
    years = read_column(_csv(tmp_path / "c.csv", "d,v", ["1700,1", "1701,2"]), "v", "d")
    assert years.time.tolist() == [1700, 1701]
