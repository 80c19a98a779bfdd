"""Neural LMs at corpus scale (issue 11): speed, budget, memory, start-up and a parallel grid, as figures.

Each part is a separate `seqpipe` command (what a user runs), measured from outside:

- `speed`: `train-lm --snapshot GUTENBERG --model lstm --embedding 128 --hidden 256 --min-freq 5` for
  `--minutes M` with `--softmax full` and `--softmax adaptive`: tokens/s, valid / test / unigram perplexity,
  wall of the whole command against the budget, peak RSS.
- `startup`: a synthetic snapshot of `--gb` GB of uint16 ids: seconds from the process start to the first
  training step (`first_step_s`) and peak RSS, next to a 100x smaller one.
- `grid`: 4 trials (`--model gru,lstm --lr 2e-3,5e-3`) on 2 Dask workers: the grid's wall against the sum
  of the trials' walls (issue target: <= 0.6).

    python bench/lm_scale_bench.py speed --snapshot OUT/corpus/gutenberg --minutes 0.3
    python bench/lm_scale_bench.py startup --gb 1
    python bench/lm_scale_bench.py grid --snapshot OUT/corpus/gutenberg --minutes 0.3

Make the Gutenberg snapshot once with
`seqpipe stats '$SEQPIPE_DATA_DIR/gutenberg/*.txt.gz' --tokens word --split 0.9,0.05 --orders 1 --name gutenberg`.
On a shared machine every figure is contended: run `uptime` beside it and say so.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import run_measured

PY = [sys.executable, "-m", "seqpipe"]


def _summary(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def speed(args: argparse.Namespace) -> None:
    """Full vs adaptive softmax on the Gutenberg snapshot, word LSTM."""
    for softmax in args.softmax.split(","):
        out = tempfile.mkdtemp(prefix="lm-speed-")
        cmd = [*PY, "train-lm", "--snapshot", args.snapshot, "--model", "lstm", "--embedding", "128",
               "--hidden", "256", "--min-freq", "5", "--minutes", str(args.minutes), "--softmax", softmax,
               "--threads", str(args.threads), "--out", out, "--json", "--no-progress"]
        m = run_measured(cmd)
        s = _summary(m["stdout"])
        print(f"{softmax:9s} vocab {s['vocab_size']:,}  {s['tokens_per_s']:,.0f} tokens/s  valid ppl "
              f"{s['valid_ppl']:,.1f} (unigram {s['unigram_valid_ppl']:,.1f}, {s['valid_eval_tokens']:,} tokens"
              f"{' sampled' if s['valid_sampled'] else ''})  test ppl {s['test_ppl']:,.1f} "
              f"({s['test_eval_tokens']:,}{' sampled' if s['test_sampled'] else ''})  wall {m['wall_s']:.1f} s "
              f"for a {args.minutes * 60:.0f} s budget  first step {s['first_step_s']:.1f} s  "
              f"peak RSS {m['peak_rss_process_mb']:,.0f} MB")


def _synthetic(root: Path, n_tokens: int, vocab: int = 50_000, line: int = 12) -> Path:
    """A snapshot folder of `n_tokens` Zipf-distributed uint16 ids, written in pieces."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from lm_snapshots import big_snapshot

    if not (root / "tokens" / "train" / "offsets.npy").is_file():
        big_snapshot(root, n_tokens, vocab=vocab, line=line, held_out=200_000)
    return root


def startup(args: argparse.Namespace) -> None:
    """Start-up time and peak RSS on a large and a 100x smaller synthetic snapshot."""
    big = int(args.gb * 2**30 / 2)  # uint16 ids
    for n in (big // 100, big):
        snap = _synthetic(Path(tempfile.gettempdir()) / f"lm-startup-{n}", n)
        out = tempfile.mkdtemp(prefix="lm-startup-")
        cmd = [*PY, "train-lm", "--snapshot", str(snap), "--model", "lstm", "--embedding", "128", "--hidden",
               "256", "--max-vocab", "20000", "--minutes", "0.2", "--threads", str(args.threads), "--out", out,
               "--json", "--no-progress"]
        m = run_measured(cmd)
        s = _summary(m["stdout"])
        size = (snap / "tokens" / "train" / "ids.npy").stat().st_size / 2**20
        print(f"ids {size:,.0f} MB ({n:,} tokens): first step {s['first_step_s']:.2f} s after the process "
              f"started, {s['steps']} steps, peak RSS {m['peak_rss_process_mb']:,.0f} MB, wall {m['wall_s']:.1f} s")


def grid(args: argparse.Namespace) -> None:
    """4 trials on 2 workers: grid wall vs the sum of the trials' walls."""
    out = tempfile.mkdtemp(prefix="lm-grid-")
    cmd = [*PY, "train-lm", "--snapshot", args.snapshot, "--model", "gru,lstm", "--lr", "2e-3,5e-3",
           "--embedding", "64", "--hidden", "128", "--min-freq", "5", "--optimizer", "adam",
           "--minutes", str(args.minutes), "--workers", "2", "--out", out, "--json", "--no-progress"]
    t0 = time.perf_counter()
    run_measured(cmd, env={"OMP_NUM_THREADS": "1"})
    wall = time.perf_counter() - t0
    import pandas as pd

    table = pd.read_parquet(Path(out) / "trials.parquet")
    total = float(table["wall_s"].sum())
    print(table[["name", "status", "valid_ppl", "tokens_per_s", "wall_s", "best"]].to_string(index=False))
    span = float(table["finished_at"].max() - table["started_at"].min())
    print(f"grid wall {wall:.1f} s (first trial start to last trial end {span:.1f} s), sum of trial walls "
          f"{total:.1f} s, ratio {wall / total:.2f} (target <= 0.6; trials only: {span / total:.2f})")


def main() -> None:
    """Parse the part to run and its options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("part", choices=["speed", "startup", "grid"])
    p.add_argument("--snapshot", default=os.environ.get("SEQPIPE_BENCH_SNAPSHOT", ""))
    p.add_argument("--minutes", type=float, default=0.3)
    p.add_argument("--softmax", default="full,adaptive")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--gb", type=float, default=1.0)
    args = p.parse_args()
    np.seterr(all="ignore")
    {"speed": speed, "startup": startup, "grid": grid}[args.part](args)


if __name__ == "__main__":
    main()
