"""Modified Kneser-Ney estimation + ARPA export on the 100 MB Gutenberg corpus, against `lmplz -o 3`.

Usage: python bench/ngram_lm_bench.py [--order 3] [--shards 8] [--arpa OUT.arpa]
Reads books-0*.txt.gz with d2l normalization, word tokens, one sentence per line; counts, estimates
interpolated modified Kneser-Ney (lmplz's discounts) and writes ARPA. Prints the wall time of each
stage and the process' peak RSS. Reference (ANCHORS.md): `lmplz -o 3` takes about 16.7 s and 1.3 GB
on already-cleaned text; the target is within 1.5x of that (the "estimate + ARPA" figure; reading
and normalizing the gzip files is shown separately because lmplz's figure excludes it).
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from seqpipe.corpus import load_lines
from seqpipe.ngrams.arpa import write_arpa
from seqpipe.ngrams.lm import kneser_ney
from seqpipe.ngrams.lm_counts import count_ngrams

SHARED = Path(os.environ.get("SEQPIPE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "data"))
LMPLZ_O3 = {"wall_s": 16.7, "rss_gb": 1.3}


def peak_rss_gb() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--shards", type=int, default=8, help="how many books-0*.txt.gz files")
    parser.add_argument("--arpa", type=Path, default=None, help="where to write the ARPA (default: a temp file)")
    args = parser.parse_args()
    files = sorted(str(p) for p in (SHARED / "gutenberg").glob("books-0*.txt.gz"))[: args.shards]
    if not files:
        sys.exit(f"no Gutenberg shards under {SHARED / 'gutenberg'}")
    arpa = args.arpa or Path(tempfile.mkdtemp(prefix="seqpipe-bench-")) / f"gutenberg-o{args.order}.arpa"

    t0 = time.perf_counter()
    lines = load_lines(files, "d2l")
    t1 = time.perf_counter()
    counts = count_ngrams(lines, args.order, "word", "line")
    del lines
    t2 = time.perf_counter()
    model = kneser_ney(counts)
    t3 = time.perf_counter()
    write_arpa(model, arpa)
    t4 = time.perf_counter()

    work = t4 - t1
    print(f"corpus: {len(files)} shards, {counts.tokens:,} tokens, {counts.sentences:,} lines; "
          f"n-grams per order: {' / '.join(f'{len(t):,}' for t in counts.tables)}")
    print(f"discounts: {', '.join(f'{k}: ' + ' '.join(f'{d:.3f}' for d in ds) for k, ds in enumerate(model.discounts, 1))}"
          + (f"; fell back: {model.fallback}" if model.fallback else ""))
    print(f"read + normalize {t1 - t0:6.1f} s")
    print(f"count            {t2 - t1:6.1f} s")
    print(f"estimate (MKN)   {t3 - t2:6.1f} s")
    print(f"write ARPA       {t4 - t3:6.1f} s   ({arpa.stat().st_size / 1e6:.0f} MB, {arpa})")
    print(f"estimate + ARPA  {work:6.1f} s   vs lmplz -o 3 {LMPLZ_O3['wall_s']} s: {work / LMPLZ_O3['wall_s']:.2f}x")
    print(f"total wall       {t4 - t0:6.1f} s")
    print(f"peak RSS         {peak_rss_gb():6.2f} GB  vs lmplz {LMPLZ_O3['rss_gb']} GB: "
          f"{peak_rss_gb() / LMPLZ_O3['rss_gb']:.2f}x")
    if args.arpa is None:
        arpa.unlink()
        arpa.parent.rmdir()


if __name__ == "__main__":
    main()
