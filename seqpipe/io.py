"""Atomic file writes, run ids and versioned JSON: nothing half-written is ever visible under its name."""

from __future__ import annotations

import json
import math
import os
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from seqpipe import SCHEMA_VERSION, __version__

RUN_METRICS_KIND = "run-metrics"  # the `kind` of a run folder's shared metrics.json

_UMASK = os.umask(0)
os.umask(_UMASK)


def new_run_id() -> str:
    """A sortable, unique run id such as `20261129T103407Z-3fa2c1`."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


@contextmanager
def atomic_path(path: str | Path, make_parents: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success fsync and rename it into place.

    With `make_parents=False` a missing folder is an error instead of being made again: a task still
    running after its run failed must not bring back the folder the run removed.

    >>> with atomic_path("/tmp/seqpipe-doctest.txt") as tmp:
    ...     _ = tmp.write_text("done")
    >>> Path("/tmp/seqpipe-doctest.txt").read_text()
    'done'
    """
    target = Path(path)
    if make_parents:
        target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs are meant to be read by others
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_output_root(root: str | Path, what: str = "output root") -> None:
    """Refuse, in plain words, an output root that is a file or cannot be written (URLs are not checked)."""
    if "://" in str(root):
        return
    path = Path(root).expanduser()
    existing = next(p for p in (path, *path.parents) if p.exists())  # a path under a file does not exist
    blocker = "" if existing == path else f" ({existing} cannot be written)"
    if not existing.is_dir():
        raise ValueError(f"{what} {path} is a file, not a folder" if existing == path
                         else f"{what} {path} cannot be made: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{what} {path} is read-only{blocker}; give a folder you can write to")


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write bytes atomically (temp file + rename)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def versioned(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    """Stamp a JSON payload with what wrote it: kind, schema version, seqpipe version."""
    return {"kind": kind, "schema_version": SCHEMA_VERSION, "seqpipe_version": __version__, **payload}


def write_json(path: str | Path, payload: dict[str, Any], kind: str) -> Path:
    """Write a versioned JSON document atomically."""
    text = json.dumps(versioned(payload, kind), indent=2, ensure_ascii=False, default=jsonable)
    return atomic_write_text(path, text + "\n")


def jsonable(value: Any) -> Any:
    """What `json.dumps` cannot write itself, as JSON values: pydantic models, paths, numpy scalars, sets."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def finite(value: Any) -> Any:
    """JSON-ready: an infinite or NaN float becomes None (JSON has neither).

    >>> finite(float("inf")), finite(2.5)
    (None, 2.5)
    """
    return None if isinstance(value, float) and not math.isfinite(value) else value


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file with `yaml.safe_load`: plain data only, tags that build objects are refused.

    >>> p = Path("/tmp/seqpipe-doctest.yaml"); _ = p.write_text("orders: [1, 2]")
    >>> read_yaml(p)
    {'orders': [1, 2]}
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)  # never yaml.load: a !!python/object tag would run code
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not plain YAML data ({' '.join(str(exc).split())})") from None


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on a folder itself (`flock` on its descriptor): no lock file is left behind.

    Processes and threads wait for each other; the kernel drops the lock when its holder exits or dies.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: a lock file beside, as filelock does it
        from filelock import FileLock

        with FileLock(str(Path(folder) / ".metrics.json.lock")):
            yield
        return
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def update_run_metrics(run_dir: str | Path, key: str, value: Any, name: str | None = None) -> Path | None:
    """Set `metrics.json[key]` (or `[key][name]`) of a run folder under the folder's lock, keeping other keys.

    Every stage of a run writes its own key of the one aggregate file; a file that is not a JSON object
    is left untouched (returns None) rather than overwritten.
    """
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "metrics.json"
    with folder_lock(folder):
        try:
            existing = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        except ValueError:
            return None
        if not isinstance(existing, dict):
            return None
        kind = existing.pop("kind", RUN_METRICS_KIND)
        for stamp in ("schema_version", "seqpipe_version"):
            existing.pop(stamp, None)
        if name is None:
            existing[key] = value
        else:
            existing.setdefault(key, {})[name] = value
        return write_json(path, existing, kind=kind)
