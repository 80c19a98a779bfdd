"""Decode corpus files into lines: BOMs, UTF-16, invalid bytes (counted), binary files (skipped).

Every reader yields the same lines for the same text whatever its encoding or line ends:
UTF-8 (with or without BOM) and UTF-16 with BOM; LF, CRLF and CR line ends. Invalid UTF-8 bytes
become U+FFFD, one per byte, and are counted.
"""

from __future__ import annotations

import codecs
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import fsspec

from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.sources import InputFile, expand_sources
from seqpipe.config import Settings
from seqpipe.text.normalize import Normalize, normalize_line

SNIFF_BYTES = 8192
_BINARY_MAGIC = {
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"%PDF": "PDF document",
    b"PK\x03\x04": "ZIP archive",
    b"\x7fELF": "ELF executable",
    b"\x1f\x8b": "gzip data without a .gz suffix",
    b"BZh": "bzip2 data without a .bz2 suffix",
    b"\xfd7zXZ\x00": "xz data without a .xz suffix",
    b"(\xb5/\xfd": "zstd data without a .zst suffix",
    b"7z\xbc\xaf": "7z archive",
    b"Rar!": "RAR archive",
}

_counter = threading.local()


def _count_and_replace(exc: UnicodeDecodeError) -> tuple[str, int]:
    n = exc.end - exc.start
    _counter.bad = getattr(_counter, "bad", 0) + n
    return "\ufffd" * n, exc.end


codecs.register_error("seqpipe-count", _count_and_replace)


@dataclass(frozen=True)
class FileInfo:
    """What sniffing a file's head found: its encoding, or why it is skipped."""

    encoding: str  # "utf-8", "utf-8-sig", "utf-16"
    skip_reason: str | None = None

    @property
    def splittable(self) -> bool:
        """Byte ranges on '\\n' boundaries are valid pieces only for UTF-8."""
        return self.encoding in ("utf-8", "utf-8-sig")


def open_binary(f: InputFile):
    """Open a file for reading bytes, decompressing by suffix."""
    return fsspec.open(f.uri, "rb", compression=f.compression).open()


def sniff(f: InputFile, nul_fraction: float = 0.01) -> FileInfo:
    """Look at the first bytes: BOM, magic numbers of binary formats, NUL density."""
    try:
        with open_binary(f) as fh:
            head = fh.read(SNIFF_BYTES)
    except (EOFError, OSError, ValueError) as exc:
        return FileInfo("utf-8", f"unreadable ({type(exc).__name__}: {exc})")
    if head.startswith(codecs.BOM_UTF8):
        return FileInfo("utf-8-sig")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return FileInfo("utf-16")
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return FileInfo("utf-8", f"binary ({what})")
    if head and head.count(0) / len(head) > nul_fraction:
        return FileInfo("utf-8", f"binary ({head.count(0)} NUL bytes in the first {len(head)})")
    return FileInfo("utf-8")


def decode(data: bytes, encoding: str) -> tuple[str, int]:
    """Decode bytes, returning the text and the number of invalid bytes replaced."""
    _counter.bad = 0
    text = data.decode(encoding, errors="seqpipe-count")
    return text, _counter.bad


def split_lines(text: str) -> list[str]:
    """Lines of a text with LF, CRLF or CR ends; a final line end does not make an empty line.

    >>> split_lines("a\\r\\nb\\rc\\n")
    ['a', 'b', 'c']
    """
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def read_range(f: InputFile, info: FileInfo, start: int = 0, end: int | None = None) -> tuple[list[str], int]:
    """Lines of bytes [start, end) of a file, moved to line boundaries; returns (lines, bad_bytes).

    A range starting mid-line skips to the next line; one ending mid-line reads to that line's end,
    so consecutive ranges cover every line exactly once.
    """
    with open_binary(f) as fh:
        if start == 0 and end is None:
            data = fh.read()
        else:
            begin = 0 if start == 0 else _after_newline(fh, start - 1)
            stop = f.size if end is None or end >= f.size else _after_newline(fh, end - 1)
            fh.seek(begin)
            data = fh.read(max(0, stop - begin))
    encoding = info.encoding if start == 0 else "utf-8"
    text, bad = decode(data, encoding)
    if encoding == "utf-16":
        text = text.removeprefix("\ufeff")
    return split_lines(text), bad


def _after_newline(fh, pos: int) -> int:
    """Offset just after the first b'\\n' at or after pos (end of file if none)."""
    fh.seek(pos)
    offset = pos
    while chunk := fh.read(1 << 16):
        i = chunk.find(b"\n")
        if i >= 0:
            return offset + i + 1
        offset += len(chunk)
    return offset


def content_hash(f: InputFile) -> str:
    """sha256 of the stored bytes (compressed files hash as stored)."""
    h = hashlib.sha256()
    with fsspec.open(f.uri, "rb").open() as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def load_lines(
    sources: Iterable[str] | str,
    normalize: Normalize = "raw",
    settings: Settings | None = None,
) -> list[str]:
    """All lines of a corpus in order, normalized; binary files are skipped.

    Sequential and in-memory: for models on book-sized corpora. Counting uses the Dask path.

    Example: `len(load_lines("timemachine", "d2l"))` -> 3221.
    """
    sources = [sources] if isinstance(sources, str) else list(sources)
    lines: list[str] = []
    for f in expand_sources(sources, settings):
        info = sniff(f)
        if info.skip_reason:
            continue
        raw, _ = read_range(f, info)
        lines.extend(raw if normalize == "raw" else (normalize_line(x, normalize) for x in raw))
    if not any(line.strip() for line in lines):
        raise CorpusError(f"{', '.join(sources)}: the corpus holds no text")
    return lines
