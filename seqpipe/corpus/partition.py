"""Cut a corpus into partitions: byte blocks of large files (on line boundaries), groups of small files."""

from __future__ import annotations

from dataclasses import dataclass

from seqpipe.corpus.reader import FileInfo
from seqpipe.corpus.sources import InputFile

# A compressed file is read whole by one task, so it is planned at the size of its text: gzip, bz2, xz
# and zstd make English text 3-4x smaller. Planned at its stored size, three .gz shards of 13 MB text
# shared a 16 MiB partition, and two workers got three uneven partitions of 40 MB.
COMPRESSED_EXPANSION = 3


def planned_size(f: InputFile) -> int:
    """Bytes a file weighs in the plan: its size, times `COMPRESSED_EXPANSION` when compressed.

    >>> planned_size(InputFile("a.txt.gz", 10, 0, "gzip")), planned_size(InputFile("a.txt", 10, 0, None))
    (30, 10)
    """
    return f.size * COMPRESSED_EXPANSION if f.compression else f.size


@dataclass(frozen=True)
class Piece:
    """Bytes [start, end) of input file `file_index` (end None: to the end of the file)."""

    file_index: int
    start: int = 0
    end: int | None = None

    @property
    def continues_file(self) -> bool:
        """True when an earlier piece of the same file exists (text may flow in from it)."""
        return self.start > 0


@dataclass(frozen=True)
class Partition:
    """One unit of parallel work: consecutive pieces, in corpus order."""

    index: int
    pieces: tuple[Piece, ...]


def plan_partitions(files: list[InputFile], infos: list[FileInfo], blocksize: int) -> list[Partition]:
    """Partitions in corpus order; skipped files are left out.

    Large splittable files become one partition per block (never mixed with other files), so a
    partition holds either whole files or one block of one file. Compressed files weigh their
    estimated text size (`planned_size`).

    >>> f = [InputFile("a", 10, 0, None), InputFile("b", 25, 0, None), InputFile("c", 3, 0, None)]
    >>> i = [FileInfo("utf-8")] * 3
    >>> [[(p.file_index, p.start, p.end) for p in part.pieces] for part in plan_partitions(f, i, 12)]
    [[(0, 0, None)], [(1, 0, 12)], [(1, 12, 24)], [(1, 24, None)], [(2, 0, None)]]
    >>> gz = [InputFile(x, 5, 0, "gzip") for x in "abc"]
    >>> [[p.file_index for p in part.pieces] for part in plan_partitions(gz, i, 12)]
    [[0], [1], [2]]
    """
    partitions: list[list[Piece]] = []
    group: list[Piece] = []
    group_bytes = 0

    def flush() -> None:
        nonlocal group, group_bytes
        if group:
            partitions.append(group)
        group, group_bytes = [], 0

    for index, (f, info) in enumerate(zip(files, infos, strict=True)):
        if info.skip_reason:
            continue
        if f.size > blocksize and info.splittable and f.compression is None:
            flush()
            starts = list(range(0, f.size, blocksize))
            for start in starts:
                end = start + blocksize if start + blocksize < f.size else None
                partitions.append([Piece(index, start, end)])
            continue
        size = planned_size(f)
        if group and group_bytes + size > blocksize:
            flush()
        group.append(Piece(index))
        group_bytes += size
    flush()
    return [Partition(i, tuple(pieces)) for i, pieces in enumerate(partitions)]


def count_partitions(files: list[InputFile], blocksize: int) -> int:
    """How many partitions the files make at most (every file taken as readable UTF-8), before sniffing.

    >>> count_partitions([InputFile("a", 10, 0, None), InputFile("b", 25, 0, None)], 12)
    4
    """
    return len(plan_partitions(files, [FileInfo("utf-8")] * len(files), blocksize))
