"""Small SQL builders shared by the estimators: column lists and join conditions over w1..wk."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb


def cols(k: int, alias: str = "", first: int = 1) -> str:
    """'w1, w2' style column list of k columns starting at w{first}, optionally qualified.

    >>> cols(2), cols(2, "a", first=2)
    ('w1, w2', 'a.w2, a.w3')
    """
    dot = f"{alias}." if alias else ""
    return ", ".join(f"{dot}w{i}" for i in range(first, first + k))


def renamed(k: int, first: int) -> str:
    """Columns w{first}.. renamed to w1..wk.

    >>> renamed(2, 2)
    'w2 AS w1, w3 AS w2'
    """
    return ", ".join(f"w{first + i} AS w{1 + i}" for i in range(k))


def on(left: str, right: str, k: int, right_first: int = 1) -> str:
    """Equality of left.w1..wk with right.w{right_first}..

    >>> on("a", "b", 2, right_first=2)
    'a.w1 = b.w2 AND a.w2 = b.w3'
    """
    return " AND ".join(f"{left}.w{i} = {right}.w{right_first + i - 1}" for i in range(1, k + 1))


def context_on(alias: str, k: int) -> str:
    """A k-gram table's words matched to a position's history h_{k-1}..h_1 and word w (table `pos`).

    >>> context_on("P", 3)
    'P.w1 = pos.h2 AND P.w2 = pos.h1 AND P.w3 = pos.w'
    """
    parts = [f"{alias}.w{i} = pos.h{k - i}" for i in range(1, k)]
    return " AND ".join([*parts, f"{alias}.w{k} = pos.w"])


def history_on(alias: str, j: int) -> str:
    """A j-word context table matched to a position's last j history words.

    >>> history_on("B", 2)
    'B.w1 = pos.h2 AND B.w2 = pos.h1'
    """
    return " AND ".join(f"{alias}.w{i} = pos.h{j - i + 1}" for i in range(1, j + 1))


def where_equal(k: int, values: Sequence[int]) -> str:
    """A filter w1 = v1 AND ... for literal ids.

    >>> where_equal(2, [5, 7])
    'w1 = 5 AND w2 = 7'
    """
    return " AND ".join(f"w{i} = {int(v)}" for i, v in zip(range(1, k + 1), values))


def first_row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple | None:
    """The first row of a query, or None; the result is fetched to the end (DuckDB 2 refuses new work otherwise)."""
    rows = con.execute(sql).fetchall()
    return rows[0] if rows else None
