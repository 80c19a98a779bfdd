"""Snapshot storage: staging, atomic publish through `LATEST`, a per-corpus lock, and readers.

Layout under the output root::

    corpus/<name>/snapshots/<run_id>/{_manifest.json, _refresh.json, vocab.parquet, zipf.png,
                                      ngrams/n=K/part-<bucket>-<i>.parquet}
    corpus/<name>/LATEST        one line: the run id of the newest complete snapshot
    corpus/<name>/.lock         held while a run writes this corpus
    corpus/<name>/history.parquet   one row per published snapshot (see `history`)

A run writes everything into `snapshots/.staging-<run_id>/`, renames it to `snapshots/<run_id>`
(atomic on one filesystem), then replaces `LATEST` atomically. A crash at any point leaves the
previous snapshot named by `LATEST`; the next run removes leftover staging folders and temp files.
Snapshots are never deleted by a run, so a reader that resolved `LATEST` keeps a complete folder; nor
modified, so a refresh may hard-link an unchanged Parquet file of the previous snapshot into its own.

Nothing is written outside the output root: names are checked, and a symlink under the root that
leads outside it (the corpus folder, `snapshots/`, `partition-cache/`, `LATEST`) or a symlinked
`.lock` is refused before the first write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import filelock
import pyarrow as pa
import pyarrow.dataset as ds

from seqpipe.corpus.errors import CorpusError
from seqpipe.io import atomic_write_text
from seqpipe.ngrams import history

STAGING_PREFIX = ".staging-"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def corpus_dir(out_root: str | Path, name: str) -> Path:
    """`<out>/corpus/<name>`; neither the name nor a symlink may lead outside the output root."""
    if not _SAFE_NAME.match(name) or ".." in name:
        raise CorpusError(f"corpus name {name!r}: use letters, digits, '.', '_' and '-' only")
    root = Path(out_root)
    if "://" in str(out_root):
        raise CorpusError(f"{out_root}: snapshots are written to a local folder (remote outputs are not supported yet)")
    cdir = root / "corpus" / name
    ensure_inside(root, cdir)
    return cdir


def ensure_inside(root: str | Path, path: str | Path) -> None:
    """Fail unless `path`, with every symlink resolved, lies inside `root` (also resolved)."""
    real_root, real = os.path.realpath(root), os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise CorpusError(f"{path} leads to {real}, outside the output root {real_root} (a symlink?); "
                          "refusing to write there")


_SHARED = threading.local()  # corpus folders whose lock this thread holds for the counts nested in it


@contextmanager
def corpus_lock(cdir: Path, nested: bool = False) -> Iterator[None]:
    """Hold the corpus' write lock, or fail at once naming the lock if another run holds it.

    `nested=True`: the count run inside the block by this thread is this run and shares the lock (the CLI
    takes it before starting any worker); any other second writer is still refused.
    """
    cdir.mkdir(parents=True, exist_ok=True)
    key, shared = os.path.realpath(cdir), _SHARED.__dict__.setdefault("paths", set())
    if key in shared:  # inside this thread's own nested=True block
        yield
        return
    for member in ("LATEST", "snapshots", "partition-cache", "history.parquet"):
        ensure_inside(cdir, cdir / member)
    if os.path.islink(cdir / ".lock"):  # filelock 3.x opens it with O_TRUNC: that would empty the target
        raise CorpusError(f"{cdir / '.lock'} is a symlink; remove it (refusing to write through it)")
    lock = filelock.FileLock(str(cdir / ".lock"))
    try:
        lock.acquire(timeout=0)
    except filelock.Timeout:
        raise CorpusError(f"another run is writing corpus '{cdir.name}' (lock {cdir / '.lock'}); try again later") from None
    if nested:
        shared.add(key)
    try:
        yield
    finally:
        shared.discard(key)
        lock.release()


def remove_staging(staging: Path, tries: int = 5) -> None:
    """Remove a failed run's staging folder; again if a task still running on a worker wrote into it meanwhile."""
    for _ in range(tries):
        shutil.rmtree(staging, ignore_errors=True)
        if not staging.exists():
            return
        time.sleep(0.1)


def clean_staging(cdir: Path) -> list[str]:
    """Remove staging folders and temp files left by crashed runs (call only while holding the lock)."""
    snapshots = cdir / "snapshots"
    removed = []
    if snapshots.is_dir():
        for entry in snapshots.iterdir():
            if entry.name.startswith(STAGING_PREFIX):
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
    for pattern in (".LATEST.*.tmp", ".history.parquet.*.tmp"):  # a kill between writing and renaming a temp file
        for entry in cdir.glob(pattern):
            entry.unlink(missing_ok=True)
            removed.append(entry.name)
    return removed


def staging_dir(cdir: Path, run_id: str) -> Path:
    """A fresh staging folder for run `run_id`."""
    path = cdir / "snapshots" / f"{STAGING_PREFIX}{run_id}"
    path.mkdir(parents=True)
    return path


def publish(cdir: Path, staging: Path, run_id: str) -> Path:
    """Move a complete staging folder into place, point `LATEST` at it, and add its row to the history."""
    previous = (cdir / "LATEST").read_text().strip() if (cdir / "LATEST").is_file() else None
    history.write_published(staging, run_id, previous)  # inside the snapshot: published with it, atomically
    final = cdir / "snapshots" / run_id
    os.rename(staging, final)
    atomic_write_text(cdir / "LATEST", run_id + "\n")
    history.record(cdir)
    return final


def latest_snapshot(out_root: str | Path, name: str) -> Path:
    """The folder of the newest complete snapshot of a corpus."""
    cdir = corpus_dir(out_root, name)
    try:
        run_id = (cdir / "LATEST").read_text().strip()
    except FileNotFoundError:
        raise CorpusError(f"corpus '{name}' has no snapshot under {out_root}") from None
    return cdir / "snapshots" / run_id


def resolve_snapshot(path: str | Path) -> Path:
    """Accept a snapshot folder or a corpus folder (then follow its `LATEST`)."""
    p = Path(path)
    if (p / "_manifest.json").is_file():
        return p
    if (p / "LATEST").is_file():
        return p / "snapshots" / (p / "LATEST").read_text().strip()
    raise CorpusError(f"{path}: not a snapshot (no _manifest.json) nor a corpus folder (no LATEST)")


def read_manifest(snapshot: str | Path) -> dict[str, Any]:
    """The snapshot's `_manifest.json`."""
    return json.loads((resolve_snapshot(snapshot) / "_manifest.json").read_text(encoding="utf-8"))


def read_ngrams(snapshot: str | Path, order: int) -> pa.Table:
    """All rows of one order as an Arrow table (w1..wK, match_count, doc_count)."""
    folder = resolve_snapshot(snapshot) / "ngrams" / f"n={order}"
    if not folder.is_dir():
        raise CorpusError(f"{snapshot}: no n-grams of order {order} (counted: see _manifest.json)")
    return ds.dataset(str(folder), format="parquet").to_table()


def top_ngrams(snapshot: str | Path, order: int, k: int) -> list[tuple[str, int]]:
    """The k most frequent n-grams as (space-joined n-gram, match_count); ties alphabetical."""
    if k < 1:
        raise ValueError(f"k={k}: must be at least 1")
    table = read_ngrams(snapshot, order).to_pandas()
    words = [f"w{i + 1}" for i in range(order)]
    table = table.sort_values(["match_count", *words], ascending=[False] + [True] * order, kind="stable").head(k)
    joined = table[words].agg(" ".join, axis=1) if len(table) else []
    return list(zip(joined, table["match_count"].astype(int)))
