"""Counting scaling table: `seqpipe stats` with 0, 1 and 2 workers on the 1x, 4x and 10x Gutenberg corpora.

Usage: python bench/count_scaling.py [--scales 1,4,10] [--workers 0,1,2] [--counter] [--external]
                                     [--lmplz /path/to/lmplz] [--keep DIR]

1x is the 8 shared gzip shards as they are; 4x and 10x are `scale_bench.py`'s copies (built once under
$TMPDIR/seqpipe-bench-scale/). Per run it prints wall seconds, CPU seconds of the whole process tree
(user + system), peak RSS of all processes, the speed-up over the in-process run (`--workers 0`) of the
same scale, the stage timings from the manifest, and a digest of the snapshot's n-gram and vocabulary
files: two versions of the code that print the same digest for the same scale and workers wrote the
same bytes. `--counter` also runs the one-process Counter baseline at 1x (on the decompressed shards).
`--lmplz PATH` also runs KenLM's `lmplz -o 3` (counting, modified Kneser-Ney and the ARPA file) on the whole
corpus, d2l-cleaned beforehand (the cleaning is not timed: lmplz gets the easier input), with `-S` 4G, the
memory target of issue 13, and prints seqpipe's wall over lmplz's (target <= 0.6 at 10x, 2 workers).
`--external` also runs each worker count >= 1 on a `dask scheduler` with that many `dask worker` processes
(one thread each, no nanny, so they run in this environment), as a cluster outside `seqpipe` would.
Targets (issue 13): 2 workers >= 1.7x the in-process speed, 1 worker within 10 % of it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import psutil
from common import SHARED, gutenberg_text, run_measured
from scale_bench import build_corpus, lmplz_training_text


def corpus(scale: int) -> str:
    """The source argument of a scale: the shared shards at 1x, the built copies above."""
    return str(SHARED / "gutenberg" / "books-*.txt.gz") if scale == 1 else str(build_corpus(scale))


def shared_copy() -> Path:
    """The 8 shared shards hard-linked (or copied) into one folder of their own, as `lmplz_training_text` wants."""
    folder = Path(tempfile.gettempdir()) / "seqpipe-bench-scale" / "shared"  # not x1: build_corpus(1)'s copies
    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted((SHARED / "gutenberg").glob("books-*.txt.gz")):
        if not (folder / src.name).exists():
            try:
                os.link(src, folder / src.name)
            except OSError:
                shutil.copyfile(src, folder / src.name)
    return folder


def digest(snapshot: Path) -> str:
    """sha256 over the n-gram and vocabulary files of a snapshot (paths and bytes), first 12 hex digits."""
    h = hashlib.sha256()
    for path in sorted([*snapshot.glob("ngrams/n=*/*.parquet"), snapshot / "vocab.parquet"]):
        h.update(str(path.relative_to(snapshot)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cpu_children() -> float:
    """User + system CPU seconds of the children waited for so far (their own children included)."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_stats(source: str, workers: int, out: Path, extra: list[str]) -> dict:
    """One `seqpipe stats` run: wall, CPU, peak RSS, stage timings and output digest."""
    before = cpu_children()
    r = run_measured([sys.executable, "-m", "seqpipe", "stats", source, "--out", str(out), "--name", "bench",
                      "--workers", str(workers), "--json", *extra])
    r["cpu_s"] = cpu_children() - before
    summary = json.loads(r["stdout"].strip().splitlines()[-2])
    snapshot = Path(summary["snapshot"])
    manifest = json.loads((snapshot / "_manifest.json").read_text())
    r["timings"] = manifest.get("timings_s", {})
    r["tokens"] = summary["totals"]["1"]["ngrams"]
    r["digest"] = digest(snapshot)
    return r


class ExternalCluster:
    """`dask scheduler` and `workers` x `dask worker` processes on 127.0.0.1; CPU seconds summed at the end."""

    def __init__(self, workers: int, folder: Path):
        dask = Path(sys.executable).with_name("dask")
        file = folder / "scheduler.json"
        self.procs = [subprocess.Popen([str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                        "--no-dashboard", "--scheduler-file", str(file)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
        while not file.exists():
            time.sleep(0.1)
        time.sleep(0.2)  # written at once, but let the scheduler finish its start-up
        self.address = json.loads(file.read_text())["address"]
        self.procs += [subprocess.Popen([str(dask), "worker", "--scheduler-file", str(file), "--nthreads", "1",
                                         "--no-nanny", "--memory-limit", "4GiB", "--no-dashboard"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for _ in range(workers)]
        from distributed import Client

        with Client(self.address) as client:
            client.wait_for_workers(workers, timeout=120)
        self.cpu0 = self.cpu()

    def cpu(self) -> float:
        """CPU seconds of the scheduler and workers so far."""
        total = 0.0
        for p in self.procs:
            t = psutil.Process(p.pid).cpu_times()
            total += t.user + t.system
        return total

    def close(self) -> float:
        """Stop every process; the CPU seconds they spent since the cluster was up."""
        used = self.cpu() - self.cpu0
        for p in self.procs[::-1]:
            p.terminate()
            p.wait(30)
        return used


def show(label: str, r: dict, base_wall: float | None) -> None:
    """One row of the table."""
    speed = f"{base_wall / r['wall_s']:9.2f}" if base_wall else f"{'':9}"
    stages = " ".join(f"{k}={v:.1f}" for k, v in r["timings"].items())
    print(f"{label}{r['wall_s']:8.1f}{r['cpu_s']:8.1f}{r['peak_rss_tree_mb']:11.0f}{speed}"
          f"{r['tokens'] / r['wall_s'] / 1e6:8.2f}  {r['digest']:12}  {stages}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4,10")
    parser.add_argument("--workers", default="0,1,2")
    parser.add_argument("--counter", action="store_true", help="also time the Counter baseline at 1x")
    parser.add_argument("--external", action="store_true", help="also run on a dask scheduler + dask workers")
    parser.add_argument("--lmplz", help="path of KenLM's lmplz, built outside this repository")
    parser.add_argument("--keep", help="keep the snapshots under this folder")
    parser.add_argument("stats_args", nargs="*", help="more `seqpipe stats` options, after --")
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}; cpus: {os.cpu_count()}")
    print(f"{'scale':>5}{'workers':>8}{'wall s':>8}{'cpu s':>8}{'RSS all MB':>11}{'speed-up':>9}"
          f"{'Mtok/s':>8}  {'digest':12}  timings s")
    for scale in (int(s) for s in args.scales.split(",")):
        source = corpus(scale)
        base_wall = None
        walls = {}
        for workers in (int(w) for w in args.workers.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                out = Path(args.keep) / f"x{scale}-w{workers}" if args.keep else Path(tmp)
                r = run_stats(source, workers, out, args.stats_args)
            base_wall = r["wall_s"] if workers == 0 else base_wall
            walls[workers] = r["wall_s"]
            show(f"{scale:>4}x{workers:>8}", r, base_wall)
            if args.external and workers > 0:
                with tempfile.TemporaryDirectory() as tmp:
                    cluster = ExternalCluster(workers, Path(tmp))
                    try:
                        os.environ["SEQPIPE_DASK_ADDRESS"] = cluster.address
                        r = run_stats(source, workers, Path(tmp) / "out", args.stats_args)
                    finally:
                        os.environ.pop("SEQPIPE_DASK_ADDRESS", None)
                        r["cpu_s"] += cluster.close()
                show(f"{scale:>4}x{workers:>7}e", r, base_wall)  # RSS: the client process only
        if args.lmplz:
            text = lmplz_training_text(shared_copy() if scale == 1 else build_corpus(scale), fraction=1.0)
            with tempfile.TemporaryDirectory() as tmp:
                kenlm = run_measured([args.lmplz, "-o", "3", "-S", "4G", "-T", tmp, "--text", str(text),
                                      "--arpa", str(Path(tmp) / "kenlm.arpa")], quiet=True)
            ratios = "  ".join(f"{w} workers {wall / kenlm['wall_s']:.2f}" for w, wall in walls.items())
            print(f"{scale:>4}x lmplz -o 3 -S 4G: wall {kenlm['wall_s']:.1f} s, RSS {kenlm['peak_rss_tree_mb']:.0f} MB;"
                  f" seqpipe wall / lmplz wall: {ratios}", flush=True)
        if args.counter and scale == 1:
            folder = gutenberg_text(8)
            t = time.perf_counter()
            base = run_measured([sys.executable, str(Path(__file__).parent / "counter_baseline.py"), str(folder)])
            print(f"Counter baseline 1x: wall {time.perf_counter() - t:.1f} s, "
                  f"RSS {base['peak_rss_tree_mb']:.0f} MB", flush=True)


if __name__ == "__main__":
    main()
