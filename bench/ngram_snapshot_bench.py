"""Time `seqpipe lm --snapshot S --order K --memory M` and print its wall time and peak RSS.

Usage: python bench/ngram_snapshot_bench.py SNAPSHOT [--order 3] [--memory 2GiB] [--threads 0] [--arpa OUT]
       python bench/ngram_snapshot_bench.py SNAPSHOT --build-gutenberg 8 --orders 5   # make one first

SNAPSHOT is a split snapshot (`stats --split`) or a corpus folder (its LATEST). `--build-gutenberg N`
first writes one from the first N Gutenberg shards with the in-memory reference writer
(tests/split_snapshot.py: exact, but it holds the corpus in memory; fine up to the 100 MB corpus).
Targets (issue 10), at 10x (180 M tokens, 49.5 M distinct trigrams): wall <= 0.5x lmplz's 135 s,
peak RSS <= 2.2 GiB at --memory 2GiB; order 5 completes within the same memory.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from common import SHARED, run_measured

LMPLZ_10X_O3_S = 135.0


def build(snapshot: Path, shards: int, orders: int) -> None:
    """Write a split snapshot (90 % train) of the first `shards` Gutenberg shards."""
    from split_snapshot import write_split_snapshot

    from seqpipe.corpus import load_lines

    files = sorted(str(p) for p in (SHARED / "gutenberg").glob("books-0*.txt.gz"))[:shards]
    start = time.perf_counter()
    write_split_snapshot(load_lines(files, "d2l"), snapshot, (0.9,), orders=orders, parts=8)
    print(f"built {snapshot} from {len(files)} shards in {time.perf_counter() - start:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("snapshot", type=Path)
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--memory", default="2GiB")
    parser.add_argument("--threads", type=int, default=0, help="0: every core")
    parser.add_argument("--arpa", type=Path, default=None, help="default: a temp file")
    parser.add_argument("--build-gutenberg", type=int, default=0, metavar="SHARDS")
    parser.add_argument("--orders", type=int, default=5, help="orders counted by --build-gutenberg")
    args = parser.parse_args()
    if args.build_gutenberg:
        build(args.snapshot, args.build_gutenberg, args.orders)
    arpa = args.arpa or Path(tempfile.mkdtemp(prefix="seqpipe-bench-")) / f"o{args.order}.arpa"
    cmd = [sys.executable, "-m", "seqpipe", "lm", "--snapshot", str(args.snapshot), "--order", str(args.order),
           "--memory", args.memory, "--threads", str(args.threads), "--arpa", str(arpa)]
    got = run_measured(cmd)
    print(got["stdout"], end="")
    print(f"lm --snapshot --order {args.order} --memory {args.memory}: wall {got['wall_s']:.1f} s, "
          f"peak RSS {got['peak_rss_process_mb']:,.0f} MiB; ARPA {arpa.stat().st_size / 2**20:,.0f} MiB")
    print(f"(at 10x the target is <= {0.5 * LMPLZ_10X_O3_S:.0f} s and <= 2.2 GiB for order 3)")


if __name__ == "__main__":
    main()
