"""Corpus history: one row per published snapshot in `corpus/<name>/history.parquet`.

`store.publish` writes `_published.json` (trigger, the snapshot it replaces) into the staging folder
before the rename, so every published snapshot names its predecessor, then switches `LATEST`, then
calls `record`: the history file is read, completed and rewritten atomically, under the corpus lock.

The chain LATEST → previous → … is exactly what was published (a folder renamed into place by a run
killed before `LATEST` moved is not on it), so the file is always rebuildable from the snapshots: rows
missing from it (a kill between `LATEST` and the rewrite) are added back by the next `record` or
`read_history`, and an unreadable file is set aside as `history.parquet.corrupt-<time>` and rebuilt.
Snapshots written before `_published.json` existed are chained by their manifests' write times.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from seqpipe import SCHEMA_VERSION
from seqpipe.io import atomic_path, write_json

HISTORY_FILE = "history.parquet"
PUBLISHED_FILE = "_published.json"
MAX_ORDER = 5
_TRIGGER: contextvars.ContextVar[str] = contextvars.ContextVar("seqpipe_trigger", default="")

SCHEMA = pa.schema(
    [pa.field("run_id", pa.string(), nullable=False), pa.field("corpus", pa.string()),
     pa.field("published_at", pa.timestamp("ms", tz="UTC")), pa.field("trigger", pa.string()),
     pa.field("mode", pa.string()), pa.field("previous_run_id", pa.string()), pa.field("config_hash", pa.string()),
     pa.field("files", pa.int64()), pa.field("files_added", pa.int64()), pa.field("files_changed", pa.int64()),
     pa.field("files_removed", pa.int64()), pa.field("lines", pa.int64()), pa.field("tokens", pa.int64()),
     *(pa.field(f"distinct_{n}", pa.int64()) for n in range(1, MAX_ORDER + 1)),
     pa.field("vocab_size", pa.int64()), pa.field("wall_s", pa.float64())],
    metadata={"seqpipe.table": "corpus-history", "seqpipe.schema_version": str(SCHEMA_VERSION)},
)


@contextmanager
def triggered_by(trigger: str) -> Iterator[None]:
    """Record `trigger` (e.g. `cli`, `prefect:corpus-refresh`) on the snapshots published inside the block."""
    token = _TRIGGER.set(trigger)
    try:
        yield
    finally:
        _TRIGGER.reset(token)


def current_trigger() -> str:
    """What started this publish: the innermost `triggered_by`, else `$SEQPIPE_TRIGGER`, else `library`."""
    return _TRIGGER.get() or os.environ.get("SEQPIPE_TRIGGER", "") or "library"


def config_hash(config: dict[str, Any]) -> str:
    """A short, stable hash of a JSON-able config.

    >>> config_hash({"b": 1, "a": [2]}) == config_hash({"a": [2], "b": 1})
    True
    """
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:12]


def write_published(staging: Path, run_id: str, previous_run_id: str | None) -> Path:
    """Write the staging folder's `_published.json`: who triggered it and which snapshot it replaces."""
    return write_json(staging / PUBLISHED_FILE, {"run_id": run_id, "previous_run_id": previous_run_id,
                                                 "trigger": current_trigger(),
                                                 "published_at": datetime.now(UTC).isoformat(timespec="seconds")},
                      kind="snapshot-published")


def _json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _predecessor(cdir: Path, run_id: str) -> str | None:
    """The snapshot `run_id` replaced: from its `_published.json`, else (older snapshots) the newest older folder."""
    published = _json(cdir / "snapshots" / run_id / PUBLISHED_FILE)
    if published is not None:
        return published.get("previous_run_id")
    manifests = {p.name: p / "_manifest.json" for p in (cdir / "snapshots").iterdir() if not p.name.startswith(".")}
    written = {name: m.stat().st_mtime_ns for name, m in manifests.items() if m.is_file()}  # run ids share seconds
    older = sorted((ns, name) for name, ns in written.items() if ns < written.get(run_id, 0))
    return older[-1][1] if older else None


def previous_snapshot(snapshot: str | Path) -> Path | None:
    """The snapshot folder a published snapshot replaced, or None for a corpus' first one."""
    snapshot = Path(snapshot)
    previous = _predecessor(snapshot.parent.parent, snapshot.name)
    return snapshot.parent / previous if previous and (snapshot.parent / previous).is_dir() else None


def published_chain(cdir: Path, stop: set[str] = frozenset()) -> list[str]:
    """Run ids of the published snapshots, newest first, following `LATEST` back until one in `stop`."""
    try:
        run_id: str | None = (cdir / "LATEST").read_text().strip()
    except FileNotFoundError:
        return []
    chain: list[str] = []
    while run_id and run_id not in stop and run_id not in chain and (cdir / "snapshots" / run_id).is_dir():
        chain.append(run_id)
        run_id = _predecessor(cdir, run_id)
    return chain


def history_row(snapshot: Path, previous: Path | None) -> dict[str, Any]:
    """The history row of one snapshot, from its manifest, `_published.json` and its predecessor's manifest."""
    m = _json(snapshot / "_manifest.json") or {}
    published = _json(snapshot / PUBLISHED_FILE) or {}
    before = (_json(previous / "_manifest.json") or {}) if previous else {}
    old = {i["uri"]: i.get("sha256") for i in before.get("inputs", [])}
    new = {i["uri"]: i.get("sha256") for i in m.get("inputs", [])}
    summary, totals = m.get("summary", {}), m.get("totals", {})
    created = published.get("published_at") or m.get("created_at")
    return {
        "run_id": snapshot.name, "corpus": m.get("corpus"),
        "published_at": datetime.fromisoformat(created).astimezone(UTC) if created else None,
        "trigger": published.get("trigger", "unknown"),
        "mode": "refresh" if summary.get("reused_partitions") else "full",
        "previous_run_id": previous.name if previous else None,
        "config_hash": config_hash(m.get("config", {})),
        "files": summary.get("files"),
        "files_added": len(set(new) - set(old)), "files_removed": len(set(old) - set(new)),
        "files_changed": sum(1 for u in set(new) & set(old) if new[u] != old[u]),
        "lines": summary.get("lines"), "tokens": summary.get("tokens"),
        **{f"distinct_{n}": totals.get(str(n), {}).get("distinct") for n in range(1, MAX_ORDER + 1)},
        "vocab_size": m.get("vocab", {}).get("size"),
        "wall_s": round(sum(m.get("timings_s", {}).values()), 3),
    }


def _rows(cdir: Path, run_ids: list[str]) -> list[dict[str, Any]]:
    snaps = cdir / "snapshots"
    rows = []
    for run_id in run_ids:
        previous = _predecessor(cdir, run_id)
        rows.append(history_row(snaps / run_id, snaps / previous if previous and (snaps / previous).is_dir() else None))
    return rows


def _read_file(path: Path) -> pa.Table | None:
    """The history file, None when absent; raises ValueError when it is unreadable or not a history table."""
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ValueError(f"{path}: unreadable ({type(exc).__name__}: {exc})") from None
    missing = set(SCHEMA.names) - set(table.column_names)
    if missing:
        raise ValueError(f"{path}: not a corpus history (missing {', '.join(sorted(missing))})")
    return table.select(SCHEMA.names).cast(SCHEMA)


def _complete(cdir: Path, table: pa.Table | None) -> tuple[pa.Table, bool]:
    """`table` plus the rows of the newer published snapshots it lacks, in publish order; (table, rows added?)."""
    known = set(table.column("run_id").to_pylist()) if table is not None else set()
    missing = published_chain(cdir, stop=known)[::-1]  # oldest first: rows are in publish order
    if table is not None and not missing:
        return table, False
    added = pa.Table.from_pylist(_rows(cdir, missing), schema=SCHEMA)
    merged = pa.concat_tables([t for t in (table, added) if t is not None])
    return merged.replace_schema_metadata(SCHEMA.metadata), True


def _load(cdir: Path, set_aside: bool) -> tuple[pa.Table, bool]:
    """The completed history; a corrupted file is rebuilt from the snapshots (and moved aside when `set_aside`)."""
    path = cdir / HISTORY_FILE
    try:
        table = _read_file(path)
    except ValueError as exc:
        note = "rebuilding it from the snapshots' manifests"
        if set_aside:
            aside = path.with_name(f"{HISTORY_FILE}.corrupt-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
            os.replace(path, aside)
            note += f"; the damaged file is kept as {aside.name}"
        warnings.warn(f"{exc}; {note}", stacklevel=3)
        table = None
    return _complete(cdir, table)


def record(cdir: Path) -> Path:
    """Bring `history.parquet` up to date with `LATEST` (call under the corpus lock, after publishing)."""
    table, changed = _load(cdir, set_aside=True)
    path = cdir / HISTORY_FILE
    if changed or not path.is_file():
        with atomic_path(path) as tmp:
            pq.write_table(table, tmp, compression="zstd")
    return path


def read_history(cdir: str | Path) -> pd.DataFrame:
    """The corpus' history, one row per published snapshot in publish order (repaired in memory if need be)."""
    cdir = Path(cdir)
    if not (cdir / "LATEST").is_file():
        return SCHEMA.empty_table().to_pandas()
    return _load(cdir, set_aside=False)[0].to_pandas()
