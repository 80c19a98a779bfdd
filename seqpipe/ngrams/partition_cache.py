"""Per-partition count cache: an unchanged partition is never re-read on a refresh.

An entry is keyed by what determines a partition's counts: the content hash and byte range of each
piece, the text config and the orders. Entries are `.npz` files (no pickle: loading runs no code)
written atomically; file indices are stored as positions in the entry's own file list, because a
refresh may add or remove other files and so renumber them.

The merge reads entries in place: `np.savez` stores members uncompressed, so `bucket_rows` maps a
member read-only and copies only the rows of one w1 range (rows are sorted by their alphabetical ids).
That is what bounds a count's memory: no process holds more than one partition or one bucket.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from seqpipe import SCHEMA_VERSION
from seqpipe.config import TextConfig
from seqpipe.corpus.partition import Partition
from seqpipe.io import atomic_path
from seqpipe.ngrams.count import FileStats, LineTokens, PartitionCounts, PartitionSummary

# 2: local ids alphabetical, rows sorted by (n-gram, file), so a w1 range is a slice (`bucket_rows`)
ENTRY_LAYOUT = 2


def cache_key(partition: Partition, hashes: list[str], text: TextConfig, orders: tuple[int, ...],
              max_line_bytes: int | None = None, with_lines: bool = False) -> str:
    """A content key for a partition's counts (the line limit decides which lines count)."""
    parts = [(hashes[p.file_index], p.start, p.end) for p in partition.pieces]
    limit = [] if max_line_bytes is None else [max_line_bytes]
    if with_lines:  # entries that also hold the ids line by line (`stats --split`)
        limit.append("lines")
    payload = json.dumps([SCHEMA_VERSION, ENTRY_LAYOUT, parts, text.model_dump(), list(orders), *limit])
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _join(tokens: list[str] | np.ndarray) -> np.ndarray:
    """Tokens as one byte array preceded by their lengths (any character, NUL included, survives)."""
    encoded = [t.encode("utf-8", "surrogatepass") for t in tokens]
    lengths = np.array([len(e) for e in encoded], dtype=np.int64)
    header = np.array([len(encoded)], dtype=np.int64)
    body = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return np.concatenate([header.view(np.uint8), lengths.view(np.uint8), body])


def _split(data: np.ndarray) -> list[str]:
    n = int(data[:8].view(np.int64)[0])
    lengths = data[8 : 8 + 8 * n].view(np.int64)
    body = data[8 + 8 * n :]
    offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    try:  # one C loop makes the strings (a refresh reads 250 k tokens of cached summaries)
        return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(body.tobytes())).to_pylist()
    except (pa.ArrowInvalid, UnicodeDecodeError):  # lone surrogates (kept by "surrogatepass"): decode one by one
        raw = body.tobytes()
        return [raw[a:b].decode("utf-8", "surrogatepass") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]


def save(path: Path, counts: PartitionCounts, partition: Partition) -> None:
    """Write one partition's counts (file indices made relative to the partition)."""
    s = counts.summary
    local = {f: i for i, f in enumerate(files_of(partition))}
    arrays: dict[str, np.ndarray] = {
        "uniques": _join(list(s.uniques)),
        "unigram_counts": s.unigram_counts,
        **({"first_seen": s.first_seen} if s.first_seen is not None else {}),
        "head": _join(s.head),
        "tail": _join(s.tail),
        "head_files": np.array([local[f] for f in s.head_files], dtype=np.int32),
        "tail_files": np.array([local[f] for f in s.tail_files], dtype=np.int32),
        "meta": np.frombuffer(json.dumps({
            "n_tokens": s.n_tokens,
            "stats": {local[f]: [v.lines, v.tokens, v.bad_bytes, v.long_lines, v.long_line_bytes]
                      for f, v in s.file_stats.items()},
            "orders": sorted(counts.rows),
        }).encode(), dtype=np.uint8),
    }
    for n, (cols, match, row_files) in counts.rows.items():
        for i, c in enumerate(cols):
            arrays[f"n{n}_c{i}"] = c
        arrays[f"n{n}_count"] = match
        arrays[f"n{n}_file"] = np.array([local[f] for f in row_files.tolist()], dtype=np.int32) \
            if len(local) > 1 else np.zeros(len(match), np.int32)
    if counts.lines is not None:
        arrays["line_ids"], arrays["line_lengths"] = counts.lines.ids, counts.lines.lengths
    # the folder is made by the run: a task that outlives its failed run must not bring back a removed one
    with atomic_path(path, make_parents=False) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def load(path: Path, partition: Partition) -> PartitionCounts | None:
    """Read an entry back with this run's file indices; None when there is no (readable) entry."""
    return load_entry(path, partition.index, files_of(partition), partition.pieces[0].continues_file)


def load_summary(path: Path, partition: Partition) -> PartitionSummary | None:
    """Only the summary of an entry (the n-gram arrays stay unread); None when there is no readable entry."""
    return load_entry(path, partition.index, files_of(partition), partition.pieces[0].continues_file,
                      rows=False)


def load_entry(path: Path, index: int, files: list[int], continues_file: bool,
               rows: bool = True) -> PartitionCounts | PartitionSummary | None:
    """Read an entry for partition `index` whose local files are `files` (e.g. a previous run's indices).

    With `rows=False` only the summary is read: an `.npz` member is read when accessed, so the
    n-gram arrays of an unchanged partition cost nothing on a refresh.
    """
    try:
        data = np.load(path, allow_pickle=False)
        meta = json.loads(data["meta"].tobytes())
        index_of = np.array(files, dtype=np.int32)
        summary = PartitionSummary(
            index=index,
            uniques=np.array(_split(data["uniques"]), dtype=object),
            unigram_counts=data["unigram_counts"],
            head=_split(data["head"]),
            tail=_split(data["tail"]),
            head_files=index_of[data["head_files"]].tolist(),
            tail_files=index_of[data["tail_files"]].tolist(),
            n_tokens=meta["n_tokens"],
            continues_file=continues_file,
            file_stats={int(index_of[int(k)]): FileStats(*v) for k, v in meta["stats"].items()},
            first_seen=data["first_seen"] if "first_seen" in data.files else None,
        )
        if not rows:
            return summary
        grams = {n: ([data[f"n{n}_c{i}"] for i in range(n)], data[f"n{n}_count"], index_of[data[f"n{n}_file"]])
                 for n in meta["orders"]}
        lines = LineTokens(data["line_ids"], data["line_lengths"]) if "line_ids" in data.files else None
    except (OSError, ValueError, KeyError, IndexError, EOFError, zipfile.BadZipFile):  # missing, torn, other layout
        return None
    return PartitionCounts(summary, grams, lines)


def files_of(partition: Partition) -> list[int]:
    """The partition's distinct file indices in piece order (an entry's local file numbering)."""
    return list(dict.fromkeys(p.file_index for p in partition.pieces))


def prune(folder: Path, keep: set[str]) -> int:
    """Delete entries not in `keep` (the current corpus' partitions) and temp files of killed writers."""
    removed = 0
    if folder.is_dir():
        for entry in folder.glob("*.npz"):
            if entry.stem not in keep:
                os.unlink(entry)
                removed += 1
        for entry in folder.glob(".*.npz.*.tmp"):  # a worker killed while saving; called under the lock
            entry.unlink(missing_ok=True)
    return removed


def is_complete(path: Path, orders: tuple[int, ...], with_lines: bool = False) -> bool:
    """Whether an entry is there, readable, and holds the rows of every order (and the lines when asked)."""
    wanted = {f"{name}.npy" for n in orders for name in (*(f"n{n}_c{i}" for i in range(n)), f"n{n}_count", f"n{n}_file")}
    if with_lines:
        wanted |= {"line_ids.npy", "line_lengths.npy"}
    try:
        with zipfile.ZipFile(path) as z:
            stored = {i.filename for i in z.infolist() if i.compress_type == zipfile.ZIP_STORED}
    except (OSError, zipfile.BadZipFile):
        return False
    return wanted <= stored


def _mapped_member(fh: Any, path: str, info: zipfile.ZipInfo) -> np.ndarray:
    """A member of an uncompressed `.npz`, mapped read-only from the file instead of read."""
    if info.compress_type != zipfile.ZIP_STORED:
        raise ValueError(f"{path}: {info.filename} is compressed")
    fh.seek(info.header_offset)
    name_len, extra_len = struct.unpack("<HH", fh.read(30)[26:30])  # the zip local header's last two fields
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    version = np.lib.format.read_magic(fh)
    read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read_header(fh)
    if int(np.prod(shape)) == 0:
        return np.empty(shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", offset=fh.tell(), shape=shape, order="F" if fortran else "C")


def bucket_rows(path: str, order: int, files: list[int], mapping: np.ndarray, lo: int,
                hi: int | None) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """An entry's `order`-gram rows whose first token's global id is in [lo, hi), in global ids and files.

    `mapping` turns the entry's local ids into global ids; both are alphabetical, so it increases, and the
    rows (sorted by local ids) of a global range are one slice. Only that slice is read from the disk.
    """
    names = [*(f"n{order}_c{i}" for i in range(order)), f"n{order}_count", f"n{order}_file"]
    with open(path, "rb") as fh, zipfile.ZipFile(fh) as z:
        arrays = [_mapped_member(fh, path, z.getinfo(f"{name}.npy")) for name in names]
    cols, counts, local_files = arrays[:order], arrays[order], arrays[order + 1]
    first = np.searchsorted(mapping, lo)
    last = len(mapping) if hi is None else np.searchsorted(mapping, hi)
    start, end = (int(np.searchsorted(cols[0], v)) for v in (first, last))
    index_of = np.asarray(files, dtype=np.int32)
    return ([mapping[np.asarray(c[start:end])] for c in cols], np.array(counts[start:end]),
            index_of[np.asarray(local_files[start:end])])
