"""Incremental refresh: change 1 of the 8 Gutenberg shards, then refresh; compare with a full count.

Usage: python bench/refresh_bench.py [--shards 8] [--workers 2]
Prints the full-count wall, the refresh wall (unchanged partitions reuse their cached counts) and their
ratio (target <= 0.25), and checks the refreshed snapshot equals a full recount of the changed corpus.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import gutenberg_text

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.ngrams import store
from seqpipe.ngrams.dask_count import count_corpus
from seqpipe.parallel import dask_client


def timed_count(folder: Path, out: Path, ngram: NgramConfig) -> tuple[float, object]:
    """Wall seconds of one counting run (cluster start included) and its result."""
    start = time.perf_counter()
    with dask_client(ngram.workers) as client:
        result = count_corpus(CorpusConfig(sources=(str(folder / "*.txt"),), name="gutenberg"), TextConfig(), ngram,
                              out, client)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    source = gutenberg_text(args.shards)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        shutil.copytree(source, corpus)
        ngram = NgramConfig(workers=args.workers)
        full_s, full = timed_count(corpus, Path(tmp) / "out", ngram)
        victim = sorted(corpus.glob("*.txt"))[-1]
        with open(victim, "a", encoding="utf-8") as fh:
            fh.write("\nA new closing line appended by the refresh benchmark.\n")
        refresh_s, refreshed = timed_count(corpus, Path(tmp) / "out", ngram)
        check_s, recount = timed_count(corpus, Path(tmp) / "check", NgramConfig(workers=args.workers, reuse_counts=False))
        same = all(
            store.read_ngrams(refreshed.snapshot, n).equals(store.read_ngrams(recount.snapshot, n)) for n in (1, 2, 3)
        )
    print(f"corpus: {args.shards} shards; changed {victim.name}")
    print(f"full count:            {full_s:7.1f} s  ({full.counted_partitions} partitions counted)")
    print(f"refresh (1 changed):   {refresh_s:7.1f} s  ({refreshed.counted_partitions} counted, "
          f"{refreshed.reused_partitions} reused)")
    print(f"full recount, no cache:{check_s:7.1f} s")
    print(f"refresh / full count:  {refresh_s / full_s:.2f} (target <= 0.25)")
    print(f"refreshed snapshot identical to a full recount: {same}")
    if not same:
        raise SystemExit("refresh differs from a full recount")


if __name__ == "__main__":
    main()
