"""Decode corpus files into lines: BOMs, UTF-16/32, invalid bytes (counted), binary files (skipped).

Every reader yields the same lines for the same text whatever its encoding or line ends:
UTF-8 (with or without BOM) and UTF-16/UTF-32 with BOM; LF, CRLF and CR line ends. Invalid UTF-8 bytes
become U+FFFD, one per byte, and are counted. A file is binary as git decides it (a NUL in the first
8,000 bytes, unless a BOM says UTF-16/32), or when most of those bytes are not UTF-8.
"""

from __future__ import annotations

import codecs
import hashlib
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import fsspec

from seqpipe.config import Settings
from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.sources import InputFile, expand_sources
from seqpipe.text.normalize import Normalize, normalize_line

SNIFF_BYTES = 8000  # git's `buffer_is_binary` looks at this many bytes for a NUL
_WIDE_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDE = ("utf-16", "utf-32")
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

    encoding: str  # "utf-8", "utf-8-sig", "utf-16", "utf-32"
    skip_reason: str | None = None

    @property
    def splittable(self) -> bool:
        """Byte ranges on '\\n' boundaries are valid pieces only for UTF-8."""
        return self.encoding in ("utf-8", "utf-8-sig")


def open_binary(f: InputFile):
    """Open a file for reading bytes, decompressing by suffix."""
    return fsspec.open(f.uri, "rb", compression=f.compression).open()


def sniff(f: InputFile, invalid_fraction: float = 0.5) -> FileInfo:
    """Look at the first 8,000 bytes: BOM, magic numbers, a NUL (git's rule), the share of invalid UTF-8."""
    try:
        with open_binary(f) as fh:
            head = fh.read(SNIFF_BYTES)
    except (EOFError, OSError, ValueError) as exc:
        return FileInfo("utf-8", f"unreadable ({type(exc).__name__}: {exc})")
    for bom, encoding in _WIDE_BOMS:
        if head.startswith(bom):
            return FileInfo(encoding)
    for magic, what in _BINARY_MAGIC.items():
        if head.startswith(magic):
            return FileInfo("utf-8", f"binary ({what})")
    nul = head.find(0)
    if nul >= 0:
        return FileInfo("utf-8", f"binary (NUL byte at offset {nul:,} of the first {len(head):,})")
    bad = invalid_utf8(head)
    if head and bad / len(head) > invalid_fraction:
        return FileInfo("utf-8", f"binary ({bad:,} of the first {len(head):,} bytes are not UTF-8)")
    return FileInfo("utf-8-sig" if head.startswith(codecs.BOM_UTF8) else "utf-8")


def invalid_utf8(sample: bytes) -> int:
    """Invalid UTF-8 bytes in a sample that may end inside a character (that character is not counted).

    >>> invalid_utf8(b"ok \\xff\\xfe caf\\xc3")
    2
    """
    _counter.bad = 0
    codecs.getincrementaldecoder("utf-8")(errors="seqpipe-count").decode(sample, final=False)
    return _counter.bad


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


DEFAULT_MAX_LINE_BYTES = 64 * 2**20
_CHUNK_BYTES = 8 * 2**20


@dataclass
class RangeText:
    """Lines of a byte range and what was replaced or left out on the way."""

    lines: list[str]
    bad_bytes: int  # invalid bytes replaced by U+FFFD
    long_lines: int = 0  # lines longer than max_line_bytes, left out (counted, never read whole)
    long_line_bytes: int = 0  # the bytes of those lines


def read_range(f: InputFile, info: FileInfo, start: int = 0, end: int | None = None) -> tuple[list[str], int]:
    """Lines of bytes [start, end) of a file, moved to line boundaries; returns (lines, bad_bytes).

    A range starting mid-line skips to the next line; one ending mid-line reads to that line's end,
    so consecutive ranges cover every line exactly once. A line over `DEFAULT_MAX_LINE_BYTES` is a
    `CorpusError` here (use `read_text` to skip and count such lines instead).
    """
    got = read_text(f, info, start, end)
    if got.long_lines:
        raise CorpusError(f"{f.uri}: {got.long_lines} line(s) longer than {DEFAULT_MAX_LINE_BYTES:,} bytes")
    return got.lines, got.bad_bytes


def read_text(f: InputFile, info: FileInfo, start: int = 0, end: int | None = None,
              max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> RangeText:
    """Like `read_range`, in bounded memory: a line longer than `max_line_bytes` is skipped and counted.

    The limit is on a line's bytes without its line end (UTF-16 input: after conversion to UTF-8);
    CR, LF and CRLF all end a line. Memory stays within the kept lines plus `max_line_bytes`.
    """
    kept = _read_kept(f, info, start, end, max_line_bytes)
    text, bad = decode(kept.data, "utf-8" if kept.encoding in _WIDE else kept.encoding)
    if kept.encoding in _WIDE:
        text = text.removeprefix("\ufeff")
    return RangeText(split_lines(text), bad + kept.converted_bad, kept.long_lines, kept.long_line_bytes)


@dataclass
class RangeBytes:
    """A byte range as UTF-8 bytes with LF line ends: `read_text`'s lines, without a str per line."""

    data: bytes  # the lines, each ended by b"\n" (the last one too, unless data is empty); BOM removed
    lines: int  # as many as `read_text` returns
    bad_bytes: int  # invalid UTF-8 bytes, left as they are (read_text replaces each by U+FFFD)
    long_lines: int = 0
    long_line_bytes: int = 0


def read_utf8(f: InputFile, info: FileInfo, start: int = 0, end: int | None = None,
              max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> RangeBytes:
    """`read_text` for byte-level tokenizers: the same lines and figures, as one LF-separated block.

    Invalid UTF-8 bytes stay in place, so only tokenizers that treat every byte >= 0x80 alike (d2l)
    see the same text as through `read_text`.
    """
    kept = _read_kept(f, info, start, end, max_line_bytes)
    data = kept.data
    if kept.encoding in _WIDE or kept.encoding == "utf-8-sig":  # as decoding with utf-8-sig / removeprefix
        data = data.removeprefix(codecs.BOM_UTF8)
    bad = 0 if data.isascii() else decode(data, "utf-8")[1]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if data and not data.endswith(b"\n"):
        data += b"\n"
    return RangeBytes(data, data.count(b"\n"), bad + kept.converted_bad, kept.long_lines, kept.long_line_bytes)


@dataclass
class _Kept:
    data: bytes  # kept lines, UTF-8 (wide encodings converted) or as stored
    encoding: str  # the encoding `data` was read with
    converted_bad: int  # invalid bytes met while converting a wide encoding
    long_lines: int
    long_line_bytes: int


def _read_kept(f: InputFile, info: FileInfo, start: int, end: int | None, max_line_bytes: int) -> _Kept:
    """The bytes of the whole lines of [start, end), long lines left out (see `read_text`)."""
    with open_binary(f) as fh:
        begin = 0 if start == 0 else _after_newline(fh, start - 1)
        stop = None if end is None or end >= f.size else _after_newline(fh, end - 1)
        fh.seek(begin)
        encoding = info.encoding if start == 0 else "utf-8"
        chunk = max(1, min(_CHUNK_BYTES, max_line_bytes))
        raw = _chunks(fh, chunk, None if stop is None else stop - begin)
        if encoding in _WIDE:
            _counter.bad = 0
            raw = _as_utf8(raw, encoding)
        kept = _KeptLines(max_line_bytes)
        for c in raw:
            kept.feed(c)
        converted_bad = getattr(_counter, "bad", 0) if encoding in _WIDE else 0
    return _Kept(kept.result(), encoding, converted_bad, kept.long_lines, kept.long_line_bytes)


def _chunks(fh, size: int, limit: int | None):
    """Successive reads of at most `size` bytes, `limit` bytes in all (None: to the end)."""
    while limit is None or limit > 0:
        data = fh.read(size if limit is None else min(size, limit))
        if not data:
            return
        if limit is not None:
            limit -= len(data)
        yield data


def _as_utf8(chunks, encoding: str):
    """Re-encode a stream of byte chunks to UTF-8 (invalid input counted by the decoder)."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="seqpipe-count")
    for chunk in chunks:
        yield decoder.decode(chunk).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


def _first_end(data: bytes, pos: int = 0) -> int:
    """Index of the first CR or LF at or after pos, -1 if none."""
    ends = [i for i in (data.find(b"\n", pos), data.find(b"\r", pos)) if i >= 0]
    return min(ends) if ends else -1


class _KeptLines:
    """Collects whole lines fed in chunks of at most `limit` bytes, leaving out lines over `limit`.

    Only the first line of `carry + chunk` can be too long (any line inside a chunk is shorter than
    the chunk), so each chunk costs two `find`s and an `rfind`, never a per-line loop.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.blocks: list[bytes] = []
        self.carry = b""  # the unfinished last line, at most `limit` bytes
        self.dropping = False  # inside a too-long line: discard up to its end
        self.skip_lf = False  # a dropped line ended with CR: a LF right after belongs to it
        self.long_lines = 0
        self.long_line_bytes = 0

    def _drop_end(self, buf: bytes, end: int) -> int:
        """Position after the line end at `end` (CRLF as one), remembering a CR at the buffer's end."""
        if buf[end : end + 2] == b"\r\n":
            return end + 2
        self.skip_lf = buf[end : end + 1] == b"\r" and end + 1 == len(buf)
        return end + 1

    def feed(self, chunk: bytes) -> None:
        """Take the next chunk of bytes."""
        if self.skip_lf and chunk:
            self.skip_lf = False
            chunk = chunk[1:] if chunk[:1] == b"\n" else chunk
        buf = self.carry + chunk if self.carry else chunk
        self.carry = b""
        pos = 0
        if self.dropping:
            end = _first_end(buf)
            if end < 0:
                self.long_line_bytes += len(buf)
                return
            self.long_line_bytes += end
            self.dropping = False
            pos = self._drop_end(buf, end)
        first = _first_end(buf, pos)
        if first >= 0 and first - pos > self.limit:
            self.long_lines += 1
            self.long_line_bytes += first - pos
            pos = self._drop_end(buf, first)
        last = max(buf.rfind(b"\n", pos), buf.rfind(b"\r", pos))
        if last >= 0:
            self.blocks.append(buf[pos : last + 1])
            pos = last + 1
        if len(buf) - pos > self.limit:
            self.long_lines += 1
            self.long_line_bytes += len(buf) - pos
            self.dropping = True
        else:
            self.carry = buf[pos:]

    def result(self) -> bytes:
        """The kept bytes: every line not left out, with its line end."""
        return b"".join([*self.blocks, self.carry])


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
    max_line_bytes: int = DEFAULT_MAX_LINE_BYTES,
) -> list[str]:
    """All lines of a corpus in order, normalized; binary files are skipped, over-long lines refused.

    Sequential and in-memory: for models on book-sized corpora. Counting uses the Dask path.

    Example: `len(load_lines("timemachine", "d2l"))` -> 3221.
    """
    sources = [sources] if isinstance(sources, str) else list(sources)
    lines: list[str] = []
    for f in expand_sources(sources, settings):
        info = sniff(f)
        if info.skip_reason:
            continue
        got = read_text(f, info, max_line_bytes=max_line_bytes)
        if got.long_lines:  # this reader keeps the whole corpus in memory: refuse rather than drop text
            raise CorpusError(f"{f.uri}: {got.long_lines} line(s) longer than "
                              f"max_line_bytes={max_line_bytes:,}; split the file or raise the limit")
        raw = got.lines
        lines.extend(raw if normalize == "raw" else (normalize_line(x, normalize) for x in raw))
    if not any(line.strip() for line in lines):
        raise CorpusError(f"{', '.join(sources)}: the corpus holds no text")
    return lines
