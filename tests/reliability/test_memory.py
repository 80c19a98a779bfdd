"""Millions of distinct trigrams under `seqpipe stats --memory-limit 1GiB`: the limit reaches every worker,
no worker is killed or restarted, every worker's peak RSS stays under it, and the counts exactly equal a
one-process count of the regex-split words' trigrams."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from seqpipe.cli import main
from seqpipe.ngrams import dask_count, store

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


def watch_workers(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Make `seqpipe stats` record its Dask workers: pids and memory limits, peak RSS, and its result."""
    seen: dict[str, Any] = {}
    real = dask_count.count_corpus

    def counted(corpus, text, ngram, out, client, *args, **kwargs):
        seen["pids"] = client.run(os.getpid)
        seen["limits"] = client.run(lambda dask_worker: dask_worker.memory_manager.memory_limit)
        seen["result"] = real(corpus, text, ngram, out, client, *args, **kwargs)
        seen["peaks"] = client.run(peak_rss)
        seen["pids_after"] = client.run(os.getpid)
        return seen["result"]

    monkeypatch.setattr(dask_count, "count_corpus", counted)  # `stats` imports it from there when it runs
    return seen


def stats(*args: str) -> None:
    """`seqpipe stats ARGS` in this process; fails unless it exits 0."""
    with pytest.raises(SystemExit) as done:
        main(["stats", *args])
    assert done.value.code == 0


@pytest.mark.timeout(60)
def test_memory_limit_option_reaches_every_worker(tmp_path, monkeypatch):
    (tmp_path / "c.txt").write_text("a few words to count\n" * 100)  # two partitions: two workers are started
    seen = watch_workers(monkeypatch)
    stats(str(tmp_path / "c.txt"), "--out", str(tmp_path / "out"), "--workers", "2", "--memory-limit", "300MiB",
          "--blocksize", "1200")
    assert list(seen["limits"].values()) == [300 * 2**20] * 2


@pytest.mark.timeout(240)
def test_millions_of_trigrams_under_one_gib_per_worker(tmp_path, shared_data, monkeypatch):
    corpus = tmp_path / "books"
    corpus.mkdir()
    texts = []
    for shard in ("books-00", "books-01"):  # 25 MB, 4.5 M words, 2.4 M distinct trigrams
        data = gzip.decompress((shared_data / "gutenberg" / f"{shard}.txt.gz").read_bytes())
        (corpus / f"{shard}.txt").write_bytes(data)
        texts.append(data.decode("utf-8", "replace"))

    seen = watch_workers(monkeypatch)
    stats(str(corpus), "--out", str(tmp_path / "out"), "--name", "books", "--workers", "2",
          "--memory-limit", "1GiB", "--blocksize", "2MiB")
    result, peaks = seen["result"], seen["peaks"]
    assert list(seen["limits"].values()) == [LIMIT] * 2  # the option reached both workers
    assert seen["pids_after"] == seen["pids"], "a worker was killed and restarted"
    assert max(peaks.values()) < LIMIT, {w: f"{p / 2**20:.0f} MiB" for w, p in peaks.items()}
    assert result.counted_partitions >= 12

    # the oracle: d2l words of the whole text in one process, every trigram an exact integer key counted by
    # np.unique (a Counter of 4.5 M word tuples, and comparing two of them, cost 10 s of CPU for the same check)
    words = re.sub(r"[^A-Za-z]+", " ", "\n".join(texts)).lower().split()
    del texts
    vocab = pa.array(list(dict.fromkeys(words)))
    ids = indices(pa.array(words), vocab)
    keys, counts = np.unique(trigram_keys(ids[:-2], ids[1:-1], ids[2:], len(vocab)), return_counts=True)
    assert len(keys) > 2_000_000
    assert result.totals[1] == {"ngrams": len(words), "distinct": len(vocab)}
    assert result.totals[3] == {"ngrams": len(words) - 2, "distinct": len(keys)}
    table = store.read_ngrams(result.snapshot, 3)
    got = trigram_keys(*(indices(table.column(f"w{i}"), vocab) for i in (1, 2, 3)), len(vocab))
    order = np.argsort(got)
    # equal sorted keys and counts: the same trigrams with the same counts, none missing, none twice
    assert np.array_equal(got[order], keys)
    assert np.array_equal(table.column("match_count").to_numpy()[order], counts)


def indices(words, vocab: pa.Array) -> np.ndarray:
    """Each word's index in `vocab`, as int64; fails on a word outside it."""
    found = pc.index_in(words, value_set=vocab)
    assert found.null_count == 0, "a word outside the oracle's vocabulary"
    return found.to_numpy().astype(np.int64)


def trigram_keys(i1: np.ndarray, i2: np.ndarray, i3: np.ndarray, size: int) -> np.ndarray:
    """One exact int64 per trigram of word indices below `size`: (i1 * size + i2) * size + i3."""
    return (i1 * size + i2) * size + i3
