"""Token streams read by position, so training and evaluation never hold a whole corpus in memory.

A `TokenSource` is a 1-D stream of int64 ids with a length, `gather(positions)` and `read(start, stop)`.
`ArraySource` wraps an array (the text path). `LineSource` reads a snapshot split's memory-mapped ids
(`tokens/<split>/ids.npy` + `offsets.npy`), remaps each id through a lookup table (the snapshot's
alphabetical ids -> this model's frequency-ordered ids) and puts an end-of-line id after every line:
the stream is `line0 </s> line1 </s> ...`, only ever materialized one minibatch at a time.

`SourceStream` yields training minibatches from a source exactly as `BatchStream` does from an array
(sequential partitioning; random sampling through an affine permutation of the subsequences, so
nothing of corpus size is allocated), and can restart an epoch at any minibatch.

>>> src = LineSource(np.array([5, 6, 7], np.uint16), np.array([0, 2, 3]), np.arange(8), eos_id=1)
>>> len(src), src.read(0, 5).tolist()
(5, [5, 6, 1, 7, 1])
"""

from __future__ import annotations

import math
import mmap
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch

from seqpipe.batching import EpochPlan

Batch = tuple[torch.Tensor, torch.Tensor]
RELEASE_EVERY = 64  # minibatches between releases of a memory-mapped source's pages


class TokenSource(Protocol):
    """A token stream readable by position."""

    def __len__(self) -> int: ...

    def gather(self, positions: np.ndarray) -> np.ndarray: ...

    def read(self, start: int, stop: int) -> np.ndarray: ...


class ArraySource:
    """An in-memory (or memory-mapped) array of ids as a token source."""

    def __init__(self, ids: np.ndarray | torch.Tensor) -> None:
        self.ids = ids.numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """Ids at the given positions (int64)."""
        return self.ids[positions].astype(np.int64, copy=False)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Ids of positions [start, stop) (int64)."""
        return np.asarray(self.ids[start:stop], dtype=np.int64)


class LineSource:
    """A snapshot split's lines, remapped through `lookup`, each followed by `eos_id`.

    An in-memory index holds the stream start of every `BLOCK`-th line. `read(start, stop)` (what
    training rows and evaluation chunks use) locates the block, reads that block's offsets and the ids
    it needs with `pread` from the files behind the memory maps, so nothing gets mapped: a page fault
    would map a whole page-cache folio (megabytes) per row. `gather` (arbitrary positions) goes through
    the maps; `release()` drops mapped pages from this process (they stay in the page cache).
    """

    BLOCK = 1 << 12

    def __init__(self, ids: np.ndarray, offsets: np.ndarray, lookup: np.ndarray, eos_id: int) -> None:
        self.ids, self.offsets, self.lookup, self.eos_id = ids, offsets, np.asarray(lookup, np.int64), eos_id
        self.lines = int(offsets.size - 1)
        self._advise("MADV_RANDOM")  # no read-around: a fault maps one page, not the disk's read-ahead (MBs)
        starts = np.arange(0, max(self.lines, 1), self.BLOCK, dtype=np.int64)
        self.index = _read_at(offsets, starts) + starts  # stream start of every BLOCK-th line
        self.release()

    def __len__(self) -> int:
        return int(self.ids.size) + self.lines

    def release(self) -> None:
        """Unmap the pages read so far from this process (MADV_DONTNEED); the data stays on disk/cache."""
        self._advise("MADV_DONTNEED")

    def _advise(self, flag: str) -> None:
        """madvise both memory maps (where the platform has the flag; a no-op for in-memory arrays)."""
        for arr in (self.ids, self.offsets):
            mm = getattr(arr, "_mmap", None)
            if mm is not None and hasattr(mm, "madvise") and hasattr(mmap, flag):
                mm.madvise(getattr(mmap, flag))

    def line_of(self, positions: np.ndarray) -> np.ndarray:
        """Line index of each stream position (block index, then bisection over the memory-mapped offsets)."""
        pos = np.asarray(positions, dtype=np.int64)
        lo = (np.searchsorted(self.index, pos, side="right") - 1).clip(min=0) * self.BLOCK
        hi = np.minimum(lo + self.BLOCK, self.lines) - 1
        while True:
            todo = lo < hi
            if not todo.any():
                return lo
            mid = (lo + hi + 1) // 2
            ok = self.offsets[mid] + mid <= pos  # line `mid` starts at offsets[mid] + mid in the stream
            lo = np.where(todo & ok, mid, lo)
            hi = np.where(todo & ~ok, mid - 1, hi)

    def gather(self, positions: np.ndarray) -> np.ndarray:
        """Remapped ids at the given positions (int64); the end-of-line id after each line."""
        pos = np.asarray(positions, dtype=np.int64)
        line = self.line_of(pos)
        start = self.offsets[line]
        within = pos - start - line
        eol = within >= self.offsets[line + 1] - start
        raw = self.ids[np.where(eol, start, start + within).clip(max=max(self.ids.size - 1, 0))]
        return np.where(eol, self.eos_id, self.lookup[raw])

    def read(self, start: int, stop: int) -> np.ndarray:
        """Remapped ids of positions [start, stop) (int64), read with pread (no page gets mapped)."""
        if stop <= start:
            return np.zeros(0, np.int64)
        b0, b1 = (int(v) for v in np.searchsorted(self.index, [start, stop - 1], side="right") - 1)
        lo_line, hi_line = max(b0, 0) * self.BLOCK, min((b1 + 1) * self.BLOCK, self.lines)
        offs = _read_range(self.offsets, lo_line, hi_line + 1)
        vstarts = offs + np.arange(lo_line, hi_line + 1)  # stream start of each line
        first, last = (int(v) for v in np.searchsorted(vstarts, [start, stop - 1], side="right") - 1)
        lo, hi = int(offs[first]), int(offs[last + 1])
        body = self.lookup[_read_range(self.ids, lo, hi)]
        stream = np.insert(body, offs[first + 1 : last + 2] - lo, self.eos_id)  # </s> after each line
        base = lo + lo_line + first  # stream position of the first line's first token
        return stream[start - base : stop - base]


def _read_at(arr: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """`arr[positions]` as int64; for a memory map, read with pread so no page of it gets mapped.

    (A fault maps a whole page-cache folio, up to MBs, so strided reads through a map would map the file.)
    """
    filename = getattr(arr, "filename", None)
    if filename is None or not hasattr(os, "pread"):
        return np.asarray(arr[positions], np.int64)
    size, base = arr.dtype.itemsize, int(getattr(arr, "offset", 0))
    fd = os.open(filename, os.O_RDONLY)
    try:
        raw = b"".join(os.pread(fd, size, base + int(i) * size) for i in positions)
    finally:
        os.close(fd)
    return np.frombuffer(raw, arr.dtype).astype(np.int64)


def _read_range(arr: np.ndarray, a: int, b: int) -> np.ndarray:
    """`arr[a:b]` as int64; for a memory map, one pread of the file (nothing gets mapped)."""
    filename = getattr(arr, "filename", None)
    if filename is None or not hasattr(os, "pread") or b <= a:
        return np.asarray(arr[a:b], np.int64)
    size = arr.dtype.itemsize
    fd = os.open(filename, os.O_RDONLY)
    try:
        raw = os.pread(fd, (b - a) * size, int(getattr(arr, "offset", 0)) + a * size)
    finally:
        os.close(fd)
    return np.frombuffer(raw, arr.dtype).astype(np.int64)


def sample_windows(n: int, tokens: int, count: int = 16) -> list[tuple[int, int]]:
    """`count` evenly spaced windows of a stream of `n` holding ~`tokens` in all; the whole stream if it fits.

    The same windows every time (no randomness), so validation figures are comparable across epochs.

    >>> sample_windows(100, 0), sample_windows(1000, 100, 4)
    ([(0, 100)], [(0, 25), (325, 350), (650, 675), (975, 1000)])
    """
    if tokens <= 0 or tokens >= n:
        return [(0, n)]
    count = max(1, min(count, tokens // 2))
    width = tokens // count
    starts = np.linspace(0, n - width, count).round().astype(np.int64)
    return [(int(s), int(s) + width) for s in starts]


def window_tokens(windows: list[tuple[int, int]]) -> int:
    """Predicted tokens of a list of windows (each window's first token has no prediction)."""
    return sum(max(0, b - a - 1) for a, b in windows)


@dataclass
class SourceStream(EpochPlan):
    """Epochs of training minibatches from a token source, reproducible from (seed, epoch) alone.

    Same shapes and sequential order as `BatchStream`; `next_epoch(skip=k)` resumes an epoch at minibatch k.
    """

    source: TokenSource
    batch_size: int
    num_steps: int
    kind: str = "sequential"
    seed: int = 0
    epoch: int = 0  # the next epoch to yield

    def __post_init__(self) -> None:
        self._check_shape()

    def _length(self) -> int:
        return len(self.source)

    def next_epoch(self, skip: int = 0) -> Iterator[Batch]:
        """The minibatches of the next epoch from minibatch `skip` on (advances the epoch counter at once)."""
        rng, offset = self._plan(self.epoch)
        self.epoch += 1
        n, B, T = len(self.source), self.batch_size, self.num_steps
        if self.kind == "sequential":
            row = (n - offset - 1) // B
            starts = offset + np.arange(B, dtype=np.int64) * row
            plan = ((starts + b * T) for b in range(skip, row // T))
        else:
            m = (n - offset - 1) // T  # subsequences; visited in the order (a * k + c) mod m
            a, c = _coprime(rng, m), int(rng.integers(0, m))
            plan = (
                offset + ((a * np.arange(b * B, (b + 1) * B, dtype=np.int64) + c) % m) * T
                for b in range(skip, m // B)
            )
        return (self._batch(s) for s in plan)

    def _batch(self, starts: np.ndarray) -> Batch:
        """Rows [start, start + num_steps + 1) of the stream: inputs and the labels shifted by one."""
        self._served = getattr(self, "_served", 0) + 1
        if self._served % RELEASE_EVERY == 0 and hasattr(self.source, "release"):
            self.source.release()  # anything mapped by `gather` or evaluation stays bounded
        n = self.num_steps + 1
        ids = torch.from_numpy(np.stack([self.source.read(int(a), int(a) + n) for a in starts]))
        return ids[:, :-1], ids[:, 1:]



def _coprime(rng: np.random.Generator, m: int) -> int:
    """A random multiplier coprime with m (an affine map k -> a*k + c mod m is then a permutation)."""
    if m <= 2:
        return 1
    while True:
        a = int(rng.integers(1, m))
        if math.gcd(a, m) == 1:
            return a
