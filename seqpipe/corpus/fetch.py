"""Find a named data file: SEQPIPE_DATA_DIR, then the cache, then a verified download."""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

from seqpipe.config import Settings
from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.registry import NAMED, NamedData


def file_checksum(path: Path, algorithm: str) -> str:
    """Hex digest of a file."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def _verified(path: Path, entry: NamedData) -> Path:
    actual = file_checksum(path, entry.algorithm)
    if actual != entry.checksum:
        raise CorpusError(
            f"{path}: {entry.algorithm} {actual} does not match {entry.checksum} expected for "
            f"'{entry.name}'; remove or replace the file"
        )
    return path


def resolve_named(name: str, settings: Settings | None = None) -> Path:
    """Local path of a named corpus or series, downloading it into the cache if needed.

    Example: `resolve_named("timemachine")` -> `$SEQPIPE_DATA_DIR/timemachine.txt`.
    """
    settings = settings or Settings()
    if name not in NAMED:
        raise CorpusError(f"unknown named data {name!r}; known: {', '.join(sorted(NAMED))}")
    entry = NAMED[name]
    for folder in (settings.data_dir, settings.cache_dir):
        if folder is not None and (folder / entry.filename).is_file():
            return _verified(folder / entry.filename, entry)
    where = f"SEQPIPE_DATA_DIR={settings.data_dir}" if settings.data_dir else "SEQPIPE_DATA_DIR (unset)"
    if entry.url is None or settings.offline:
        raise CorpusError(
            f"'{name}' ({entry.filename}) not found in {where} or {settings.cache_dir}, and "
            + ("downloads are off (SEQPIPE_OFFLINE)" if entry.url else "it has no download URL")
        )
    return _download(entry, settings.cache_dir)


def _download(entry: NamedData, cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / entry.filename
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=f".{entry.filename}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(entry.url, timeout=60) as resp:
            while chunk := resp.read(1 << 20):
                out.write(chunk)
        _verified(Path(tmp), entry)
        os.replace(tmp, target)  # only a verified file ever appears under its real name
    except OSError as exc:
        raise CorpusError(f"download of '{entry.name}' from {entry.url} failed: {exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
