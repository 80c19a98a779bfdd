"""LM training on a CPU with and without the malloc tuning (`seqpipe/train/allocator.py`), in one run.

Each trial is a whole `seqpipe train-lm` command in its own process (mallopt is process-wide), the
shakespeare-char model (2-layer LSTM, dropout and weight drop 0.2, batch 32 x 128) at two widths, on
tiny shakespeare for a fixed time; the settings alternate so drift in a shared host hits both. Printed
per trial: training tokens/s (the command's own figure), minor page faults per step, system seconds,
peak RSS. The ratio row is tuned / untuned tokens/s, per width.

    python bench/malloc_bench.py [--minutes 0.75] [--rounds 2] [--hidden 256,512]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def trial(tuning: bool, hidden: int, minutes: float, out: str) -> dict[str, float]:
    """One `train-lm` process; its figures and its rusage."""
    cmd = [sys.executable, "-m", "seqpipe", "train-lm", "tinyshakespeare", "--model", "lstm", "--layers", "2",
           "--hidden", str(hidden), "--embedding", "64", "--dropout", "0.2", "--weight-drop", "0.2",
           "--optimizer", "adam", "--lr", "3e-3", "--batch", "32", "--steps", "128", "--minutes", str(minutes),
           "--threads", "2", "--normalize", "raw", "--split", "0.9", "--split-by", "tokens", "--test-tokens", "2000",
           "--no-progress", "--json", "--out", out]
    env = {**os.environ, "SEQPIPE_MALLOC_TUNING": str(tuning).lower()}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    stdout = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"train-lm exited with status {status}")
    result = json.loads(stdout.strip().splitlines()[-1])
    return {"tokens_per_s": result["tokens_per_s"], "faults_per_step": usage.ru_minflt / result["steps"],
            "sys_s": usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "steps": result["steps"]}


def main() -> None:
    """Alternate tuned / untuned trials per width and print each, then the ratios."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=0.75)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--hidden", default="256,512")
    args = ap.parse_args()
    print(f"{'hidden':>6} {'malloc':>8} {'tokens/s':>9} {'faults/step':>12} {'sys s':>6} {'RSS MB':>7} {'steps':>6}")
    rates: dict[tuple[int, bool], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for hidden in (int(h) for h in args.hidden.split(",")):
            for r in range(args.rounds):
                for tuning in ((True, False) if r % 2 else (False, True)):
                    f = trial(tuning, hidden, args.minutes, f"{tmp}/{hidden}-{r}-{tuning}")
                    rates.setdefault((hidden, tuning), []).append(f["tokens_per_s"])
                    print(f"{hidden:>6} {'tuned' if tuning else 'default':>8} {f['tokens_per_s']:>9,.0f} "
                          f"{f['faults_per_step']:>12,.0f} {f['sys_s']:>6.1f} {f['rss_mb']:>7,.0f} {f['steps']:>6}",
                          flush=True)
    for hidden in sorted({h for h, _ in rates}):
        tuned, default = (statistics.median(rates[(hidden, t)]) for t in (True, False))
        print(f"hidden {hidden}: tuned / default tokens/s = {tuned:,.0f} / {default:,.0f} = {tuned / default:.2f}x")


if __name__ == "__main__":
    main()
