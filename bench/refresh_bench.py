"""Incremental refresh: change 1 of the 8 Gutenberg shards, then refresh; compare with a full count.

Usage: python bench/refresh_bench.py [--shards 8] [--workers 2] [--scale K [--changed M]]
With `--scale K` the corpus is `bench/scale_bench.py`'s K x copy (8 K gzip shards, one partition each)
and M of its files change (default K: 1 in 8, as at 1x); a refresh of more than two partitions runs
on the workers.
Prints, for the full count, the refresh (unchanged partitions send only their cached summary; the
previous snapshot's files are linked or merged with the signed delta of the changed one; a refresh of
one or two partitions runs in the client process) and a full recount without the cache: wall and CPU
seconds of each run in a fresh process (its Dask workers and cluster start included, Python's start and
seqpipe's imports not: a command pays those for any run) with the run's stage timings,
the ratios (target <= 0.25) and the load; and checks the refresh equals the full recount.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import gutenberg_text
from scale_bench import build_corpus

from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
from seqpipe.ngrams import store
from seqpipe.ngrams.dask_count import count_corpus
from seqpipe.parallel import dask_client


def cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (the Dask workers, once closed)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def count_once(folder: str, out: str, pattern: str, workers: int, reuse: bool) -> None:
    """Child mode: one counting run, printed as JSON (wall and CPU from the call on, cluster start included)."""
    start, cpu = time.perf_counter(), cpu_seconds()
    ngram = NgramConfig(workers=workers, reuse_counts=reuse)
    with dask_client(workers) as client:
        result = count_corpus(CorpusConfig(sources=(str(Path(folder) / pattern),), name="gutenberg"), TextConfig(),
                              ngram, out, client)
    rss = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)) / 1024
    print(json.dumps({"wall": time.perf_counter() - start, "cpu": cpu_seconds() - cpu, "timings": result.timings,
                      "rss_mb": rss,
                      "snapshot": str(result.snapshot), "totals": {str(k): v for k, v in result.totals.items()},
                      "counted_partitions": result.counted_partitions, "reused_partitions": result.reused_partitions,
                      "incremental": result.incremental}))


def timed_count(folder: Path, out: Path, ngram: NgramConfig, pattern: str = "*.txt") -> tuple[float, float, Any]:
    """Wall and CPU seconds of one counting run in a fresh process, as a command would run it (its own first
    imports of distributed and matplotlib included; Python's start and seqpipe's imports not), and its result."""
    cmd = [sys.executable, __file__, "--one", str(folder), str(out), pattern, str(ngram.workers), str(ngram.reuse_counts)]
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    r = json.loads(done.stdout.strip().splitlines()[-1])
    result = SimpleNamespace(**{**r, "snapshot": Path(r["snapshot"]), "totals": {int(k): v for k, v in r["totals"].items()}})
    return r["wall"], r["cpu"], result


def stages(result) -> str:
    """The run's own stage timings (wall seconds), e.g. `count 2.1  merge 1.0  write 0.3`."""
    return "  ".join(f"{k} {v:.1f}" for k, v in result.timings.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=int, default=None, help="use the K x corpus of scale_bench.py (gzip)")
    parser.add_argument("--changed", type=int, default=None, help="files changed at --scale (default: K)")
    parser.add_argument("--one", nargs=5, help=argparse.SUPPRESS)  # child mode: FOLDER OUT PATTERN WORKERS REUSE
    args = parser.parse_args()
    if args.one:
        folder, out, pattern, workers, reuse = args.one
        count_once(folder, out, pattern, int(workers), reuse == "True")
        return
    source = build_corpus(args.scale) if args.scale else gutenberg_text(args.shards)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        pattern = "*.txt.gz" if args.scale else "*.txt"
        shutil.copytree(source, corpus)  # copies: the scale corpus's files are hard links to shared copies
        ngram = NgramConfig(workers=args.workers)
        full_s, full_cpu, full = timed_count(corpus, Path(tmp) / "out", ngram, pattern)
        line = "\nA new closing line appended by the refresh benchmark.\n"
        shards = sorted(corpus.glob(pattern))
        changed = shards[::-1][: args.changed or args.scale or 1]
        for victim in changed:  # a gzip file takes an appended member: readers see one stream
            with (gzip.open(victim, "at", encoding="utf-8") if args.scale else open(victim, "a", encoding="utf-8")) as fh:
                fh.write(line)
        refresh_s, refresh_cpu, refreshed = timed_count(corpus, Path(tmp) / "out", ngram, pattern)
        check_s, check_cpu, recount = timed_count(corpus, Path(tmp) / "check",
                                                  NgramConfig(workers=args.workers, reuse_counts=False), pattern)
        same = all(
            store.read_ngrams(refreshed.snapshot, n).equals(store.read_ngrams(recount.snapshot, n)) for n in (1, 2, 3)
        ) and refreshed.totals == recount.totals
    print(f"corpus: {len(shards)} shards; changed {', '.join(v.name for v in changed)}; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    print(f"full count:             {full_s:6.1f} s wall {full_cpu:6.1f} s CPU  ({full.counted_partitions} partitions "
          f"counted; {stages(full)}; peak RSS of one process {full.rss_mb:.0f} MB)")
    print(f"refresh ({len(changed)} changed):    {refresh_s:6.1f} s wall {refresh_cpu:6.1f} s CPU  ({refreshed.counted_partitions} "
          f"counted, {refreshed.reused_partitions} reused, incremental={refreshed.incremental}; {stages(refreshed)}; "
          f"peak RSS of one process {refreshed.rss_mb:.0f} MB)")
    print(f"full recount, no cache: {check_s:6.1f} s wall {check_cpu:6.1f} s CPU  ({stages(recount)})")
    print(f"refresh / full count:   {refresh_s / full_s:.2f} wall, {refresh_cpu / full_cpu:.2f} CPU (target <= 0.25)")
    print(f"refresh / full recount: {refresh_s / check_s:.2f} wall, {refresh_cpu / check_cpu:.2f} CPU")
    print(f"refreshed snapshot identical to a full recount: {same}")
    if not same:
        raise SystemExit("refresh differs from a full recount")


if __name__ == "__main__":
    main()
