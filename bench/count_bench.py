"""Counting throughput: a one-process Counter baseline vs `seqpipe stats` (2 workers) on Gutenberg.

Usage: python bench/count_bench.py [--shards 8] [--workers 2]
Prints wall time, tokens/s and peak RSS of each, and the ratios. Target: seqpipe's wall <= 1/3 of the
baseline's and its largest process' peak RSS <= 1/2 of the baseline's.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import gutenberg_text, run_measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", type=int, default=8, help="Gutenberg shards (12.8 MB each)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--blocksize", default="16MiB")
    args = parser.parse_args()
    folder = gutenberg_text(args.shards)
    size_mb = sum(p.stat().st_size for p in folder.glob("*.txt")) / 1e6
    print(f"corpus: {args.shards} shards, {size_mb:.1f} MB in {folder}")

    base = run_measured([sys.executable, str(Path(__file__).parent / "counter_baseline.py"), str(folder)])
    n_tokens = int(base["stdout"].split()[0])
    with tempfile.TemporaryDirectory() as out:
        seq = run_measured([sys.executable, "-m", "seqpipe", "stats", str(folder / "*.txt"), "--out", out,
                            "--workers", str(args.workers), "--blocksize", args.blocksize, "--json"])
        summary = json.loads(seq["stdout"].strip().splitlines()[-2])
    assert summary["totals"]["1"]["ngrams"] == n_tokens, "seqpipe and the baseline disagree on the token count"
    distinct = [summary["totals"][str(n)]["distinct"] for n in (1, 2, 3)]
    assert distinct == [int(x) for x in base["stdout"].split()[1:]], "distinct n-gram counts differ"

    print(f"tokens: {n_tokens:,}; distinct 1/2/3-grams: {distinct[0]:,} / {distinct[1]:,} / {distinct[2]:,}")
    print(f"{'':24}{'wall s':>9}{'tokens/s':>12}{'peak RSS/process MB':>22}{'peak RSS all MB':>17}")
    for label, r in (("Counter, 1 process", base), (f"seqpipe, {args.workers} workers", seq)):
        print(f"{label:24}{r['wall_s']:9.1f}{n_tokens / r['wall_s']:12,.0f}{r['peak_rss_process_mb']:22.0f}"
              f"{r['peak_rss_tree_mb']:17.0f}")
    print(f"wall ratio seqpipe/baseline: {seq['wall_s'] / base['wall_s']:.2f} (target <= 0.33)")
    print(f"peak RSS per process ratio: {seq['peak_rss_process_mb'] / base['peak_rss_process_mb']:.2f} (target <= 0.50)")


if __name__ == "__main__":
    main()
