"""Expand corpus sources (named corpora, files, directories, globs, fsspec URLs) into input files."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path

import fsspec

from seqpipe.config import Settings
from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.fetch import resolve_named
from seqpipe.corpus.registry import NAMED

COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zst": "zstd"}
_GLOB_CHARS = set("*?[")


@dataclass(frozen=True)
class InputFile:
    """One input file as found: URI, size in bytes, mtime and compression (from its suffix)."""

    uri: str
    size: int
    mtime: float
    compression: str | None

    @property
    def is_local(self) -> bool:
        """True for plain local paths."""
        return "://" not in self.uri


def _compression_of(path: str) -> str | None:
    return COMPRESSIONS.get(os.path.splitext(path)[1].lower())


def _local_file(path: str) -> InputFile:
    st = os.stat(path)
    # the real path: a file reached through several links (or a symlink loop) is one input
    return InputFile(os.path.realpath(path), st.st_size, st.st_mtime, _compression_of(path))


def _walk(directory: str) -> list[str]:
    # followlinks=False: a symlink loop cannot make this run forever
    found = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
    return found


def _expand_url(url: str) -> list[InputFile]:
    fs, _, paths = fsspec.get_fs_token_paths(url)
    out = []
    for p in sorted(fs.expand_path(paths, recursive=True)):
        info = fs.info(p)
        if info.get("type") != "file":
            continue
        mtime = info.get("mtime") or info.get("LastModified") or info.get("created") or 0
        mtime = mtime.timestamp() if hasattr(mtime, "timestamp") else float(mtime)
        out.append(InputFile(fs.unstrip_protocol(p), int(info.get("size") or 0), mtime, _compression_of(p)))
    return out


def expand_source(source: str, settings: Settings | None = None) -> list[InputFile]:
    """Input files of one source; a missing path or an empty match is a `CorpusError`."""
    if source in NAMED and not os.path.exists(source):
        return [_local_file(str(resolve_named(source, settings)))]
    if "://" in source and not source.startswith("file://"):
        files = _expand_url(source)
        if not files:
            raise CorpusError(f"{source}: no files match")
        return files
    path = source.removeprefix("file://")
    if set(path) & _GLOB_CHARS:
        matches = sorted(glob.glob(path, recursive=True))
        files = [m for m in matches if os.path.isfile(m)]
        if not files:
            raise CorpusError(f"{source}: the pattern matches no files")
        return [_local_file(f) for f in files]
    if os.path.isdir(path):
        files = _walk(path)
        if not files:
            raise CorpusError(f"{source}: the directory holds no files")
        return [_local_file(f) for f in files]
    if os.path.isfile(path):
        return [_local_file(path)]
    if os.path.lexists(path):
        raise CorpusError(f"{source}: not a readable file (broken link or special file)")
    known = f" (named corpora: {', '.join(sorted(NAMED))})" if "/" not in source else ""
    raise CorpusError(f"{source}: no such file or directory{known}")


def expand_sources(sources: list[str] | tuple[str, ...], settings: Settings | None = None) -> list[InputFile]:
    """All input files of all sources, each once, in the order given (files of a folder sorted)."""
    if not sources:
        raise CorpusError("no corpus sources given")
    seen: dict[str, InputFile] = {}
    for source in sources:
        for f in expand_source(source, settings):
            seen.setdefault(f.uri, f)
    return list(seen.values())


def corpus_name(sources: list[str] | tuple[str, ...]) -> str:
    """A default corpus name: the named corpus, or the first source's stem.

    >>> corpus_name(["data/books/*.txt"]), corpus_name(["timemachine"])
    ('books', 'timemachine')
    """
    first = sources[0]
    if first in NAMED:
        return first
    stem = first.rstrip("/").split("://")[-1]
    parts = [p for p in Path(stem).parts if not set(p) & _GLOB_CHARS]
    name = Path(parts[-1]).name if parts else "corpus"
    for suffix in (*COMPRESSIONS, ".txt"):
        name = name.removesuffix(suffix)
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in name).strip("-.")
    return cleaned or "corpus"
