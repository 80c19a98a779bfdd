"""The DuckDB engine behind out-of-core estimation: a memory budget, threads and a spill folder."""

from __future__ import annotations

import resource
from pathlib import Path

import duckdb

from seqpipe.config import byte_size

DUCKDB_FLOOR = 64 << 20  # the least buffer memory DuckDB is given
DUCKDB_SHARE = 0.8  # DuckDB overshoots its memory_limit: ~8 % (order 5, 6.6 M trigrams), ~14 % at 10x (3-grams, 44 M)
PER_THREAD = 8 << 20  # and by a few MiB per thread under small limits
SLACK_BYTES = 32 << 20  # allocations DuckDB does not count against its limit, allocator overhead
BYTES_PER_WORD = 192  # a vocabulary entry held in Python (token string, lookup arrays; --generate: a dict)
CHUNK_BYTES = 16 << 20  # the largest chunk of positions held outside DuckDB (arrays being built)


def parse_memory(text: str | int) -> int:
    """Bytes of a budget such as '2GiB', '300MiB', '1.5GB' or an int, read as every size is (pydantic's ByteSize).

    >>> parse_memory("2GiB"), parse_memory("300MiB"), parse_memory("1G"), parse_memory(1024)
    (2147483648, 314572800, 1000000000, 1024)
    """
    try:
        return int(byte_size(text))
    except ValueError:
        raise ValueError(f"--memory {text!r}: give a positive size such as 2GiB, 512MiB or 1.5GB") from None


def peak_rss() -> int:
    """Peak resident set size of this process image so far, in bytes.

    /proc's VmHWM starts afresh at exec; getrusage's ru_maxrss keeps the forking parent's peak.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def current_rss() -> int:
    """Resident set size of this process now, in bytes."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def outside_duckdb(vocab_size: int) -> int:
    """Bytes this process holds besides DuckDB's buffers: itself now, the vocabulary, one chunk, slack."""
    return current_rss() + CHUNK_BYTES + SLACK_BYTES + BYTES_PER_WORD * vocab_size


def minimum_memory(vocab_size: int, threads: int = 1) -> int:
    """The smallest budget estimation accepts for a vocabulary of `vocab_size` tokens."""
    return outside_duckdb(vocab_size) + int((DUCKDB_FLOOR + threads * PER_THREAD) / DUCKDB_SHARE)


def human(n: int) -> str:
    """Bytes as MiB or GiB.

    >>> human(300 << 20), human(3 << 30)
    ('300 MiB', '3.00 GiB')
    """
    return f"{n / (1 << 30):.2f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):.0f} MiB"


def connect(work_dir: Path, memory: int, vocab_size: int, threads: int) -> duckdb.DuckDBPyConnection:
    """A DuckDB database spilling to `work_dir`, its buffers within what `memory` leaves after Python's share."""
    threads = max(1, threads)
    need = minimum_memory(vocab_size, threads)
    if memory < need:
        raise ValueError(f"--memory {human(memory)} is too small for a vocabulary of {vocab_size:,} tokens: "
                         f"give at least {human(need)}")
    limit = int((memory - outside_duckdb(vocab_size)) * DUCKDB_SHARE) - threads * PER_THREAD
    # an in-memory database: its tables live in the buffer pool and spill to temp_directory past the
    # limit, without the checkpoint writes of a database file (2x faster on 6.6 M trigrams)
    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = '{limit // (1 << 20)}MiB'")
    con.execute(f"SET threads = {threads}")
    con.execute(f"SET temp_directory = '{work_dir / 'spill'}'")
    con.execute("SET preserve_insertion_order = false")
    # joins run in the order written (big table first, probing hash tables of the smaller ones): the
    # join-order optimizer infers w = w equalities between the small tables and can join them first
    con.execute("SET disabled_optimizers = 'join_order'")
    return con
