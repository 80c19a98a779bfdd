"""Millions of distinct trigrams under a 1 GiB per-worker memory limit: no worker killed or restarted, every
worker's peak RSS under the limit, and counts exactly equal a one-process `collections.Counter`."""

from __future__ import annotations

import gzip
import os
import re
from collections import Counter
from pathlib import Path

import pytest
from unit.ngrams.helpers import run_count

from seqpipe.ngrams import store
from seqpipe.parallel import dask_client

pytestmark = pytest.mark.reliability

LIMIT = 2**30


def peak_rss() -> int:
    """This process' peak resident memory in bytes since it started its program.

    VmHWM, not getrusage's ru_maxrss: a spawned worker's ru_maxrss also counts what the parent had
    resident when it forked (the test process), VmHWM only the worker's own image.
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/self/status")


@pytest.mark.timeout(240)
def test_millions_of_trigrams_under_one_gib_per_worker(tmp_path, shared_data):
    corpus = tmp_path / "books"
    corpus.mkdir()
    texts = []
    for shard in ("books-00", "books-01"):  # 25 MB, 4.5 M words, 2.4 M distinct trigrams
        data = gzip.decompress((shared_data / "gutenberg" / f"{shard}.txt.gz").read_bytes())
        (corpus / f"{shard}.txt").write_bytes(data)
        texts.append(data.decode("utf-8", "replace"))

    with dask_client(2, memory_limit="1GiB") as client:
        workers = client.run(os.getpid)
        result = run_count([corpus], tmp_path / "out", client, name="books", workers=2, memory_limit="1GiB",
                           blocksize=2 * 2**20, reuse_counts=False)
        peaks = client.run(peak_rss)
        assert client.run(os.getpid) == workers, "a worker was killed and restarted"
    assert max(peaks.values()) < LIMIT, {w: f"{p / 2**20:.0f} MiB" for w, p in peaks.items()}
    assert result.counted_partitions >= 12

    # the oracle: d2l words of the whole text in one process, trigrams in a Counter
    words = re.sub(r"[^A-Za-z]+", " ", "\n".join(texts)).lower().split()
    del texts
    expected = Counter(zip(words, words[1:], words[2:]))
    assert len(expected) > 2_000_000
    assert result.totals[1] == {"ngrams": len(words), "distinct": len(set(words))}
    assert result.totals[3] == {"ngrams": len(words) - 2, "distinct": len(expected)}
    table = store.read_ngrams(result.snapshot, 3)
    got = Counter(dict(zip(zip(*(table.column(f"w{i}").to_pylist() for i in (1, 2, 3))),
                           table.column("match_count").to_pylist())))
    assert got == expected
