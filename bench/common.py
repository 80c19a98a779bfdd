"""Benchmark helpers: the Gutenberg shards decompressed once, and a process-tree peak-RSS sampler."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil

SHARED = Path(os.environ.get("SEQPIPE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))


def gutenberg_text(shards: int, folder: Path | None = None) -> Path:
    """Decompress the first `shards` Gutenberg shards into a folder (reused when already there)."""
    folder = folder or Path(tempfile.gettempdir()) / "seqpipe-bench-gutenberg"
    folder.mkdir(parents=True, exist_ok=True)
    for src in sorted((SHARED / "gutenberg").glob("books-*.txt.gz"))[:shards]:
        dst = folder / src.name.removesuffix(".gz")
        if not dst.exists():
            with gzip.open(src, "rb") as fin, open(dst.with_suffix(".tmp"), "wb") as fout:
                shutil.copyfileobj(fin, fout, 1 << 20)
            dst.with_suffix(".tmp").rename(dst)
    return folder


def run_measured(cmd: list[str], env: dict[str, str] | None = None, quiet: bool = False) -> dict[str, float]:
    """Run a command; return wall seconds, the peak RSS of the largest process in its tree, and the sum.

    `quiet` drops the command's stderr (a peer's progress output), so only the figures are printed.
    """
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.DEVNULL if quiet else None)
    peaks: dict[int, int] = {}
    total_peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal total_peak
        root = psutil.Process(proc.pid)
        while not stop.is_set():
            try:
                tree = [root, *root.children(recursive=True)]
                now = 0
                for p in tree:
                    rss = p.memory_info().rss
                    now += rss
                    peaks[p.pid] = max(peaks.get(p.pid, 0), rss)
                total_peak = max(total_peak, now)
            except psutil.Error:
                pass
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode:
        raise SystemExit(f"{cmd[:3]} failed with exit code {proc.returncode}")
    return {"wall_s": time.perf_counter() - start, "peak_rss_process_mb": max(peaks.values(), default=0) / 2**20,
            "peak_rss_tree_mb": total_peak / 2**20, "stdout": out}
