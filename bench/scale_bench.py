"""How cost grows with the corpus: `stats --split 0.9` and `lm --snapshot --order 3` at 1x, 4x and 10x Gutenberg.

Usage: python bench/scale_bench.py [--scales 1,4,10] [--order 3] [--memory 2GiB] [--workers 2]
                                   [--lmplz /path/to/lmplz] [--skip-stats]

Copy 0 of the corpus is the 8 shared Gutenberg shards; copy i > 0 swaps one pair of letters everywhere
(k<->v, b<->p, g<->y, ...) so vocabulary and distinct n-grams grow the way they do when new books
arrive. Copies are written once (gzip level 1) under $TMPDIR/seqpipe-bench-scale/ and reused.

Per scale it prints wall time and peak RSS (largest process and all processes) of each command; with
`--lmplz` it also runs KenLM's lmplz on the same d2l-cleaned training lines (first 90 % of lines, empty
ones dropped) with `-S` set to the same memory budget, so the ratios come from one sitting.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SHARED, run_measured

SWAPS = ["kv", "bp", "gy", "wu", "fm", "cd", "hl", "ns", "rt"]
ROOT = Path(tempfile.gettempdir()) / "seqpipe-bench-scale"


def swap_table(i: int) -> dict[int, int]:
    """Copy i's translation: one pair of letters swapped (both cases); copy 0 is the original."""
    if i == 0:
        return {}
    a, b = SWAPS[(i - 1) % len(SWAPS)]
    pairs = {a: b, b: a, a.upper(): b.upper(), b.upper(): a.upper()}
    return str.maketrans(pairs)


def build_corpus(scale: int) -> Path:
    """A folder of `scale` copies of the 8 shards (gzip); copies are made once and hard-linked."""
    copies, folder = ROOT / "copies", ROOT / f"x{scale}"
    copies.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(scale):
        table = swap_table(i)
        for src in sorted((SHARED / "gutenberg").glob("books-*.txt.gz")):
            made, dst = copies / f"c{i:02d}-{src.name}", folder / f"c{i:02d}-{src.name}"
            if not made.exists():
                text = gzip.open(src, "rt", encoding="utf-8", errors="surrogateescape").read().translate(table)
                tmp = made.with_suffix(".tmp")
                with gzip.open(tmp, "wt", encoding="utf-8", errors="surrogateescape", compresslevel=1) as fh:
                    fh.write(text)
                tmp.rename(made)
            if not dst.exists():
                os.link(made, dst)
    return folder


def lmplz_training_text(folder: Path, fraction: float = 0.9) -> Path:
    """d2l-cleaned lines of the corpus, first `fraction` of them, empty ones dropped (lmplz's input)."""
    out = folder.with_name(folder.name + ("-train.txt" if fraction < 1 else "-all.txt"))
    if out.exists():
        return out
    non_letters = re.compile(rb"[^A-Za-z]+")
    lines: list[bytes] = []
    for f in sorted(folder.glob("*.txt.gz")):
        with gzip.open(f, "rb") as fh:
            lines.extend(fh.read().splitlines())
    cut = int(fraction * len(lines))
    with open(out.with_suffix(".tmp"), "wb") as fh:
        for line in lines[:cut]:
            clean = non_letters.sub(b" ", line).strip().lower()
            if clean:
                fh.write(clean + b"\n")
    out.with_suffix(".tmp").rename(out)
    return out


def row(label: str, r: dict) -> str:
    return f"{label:34}{r['wall_s']:9.1f}{r['peak_rss_process_mb']:12.0f}{r['peak_rss_tree_mb']:12.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,4,10")
    parser.add_argument("--order", type=int, default=3)
    parser.add_argument("--memory", default="2GiB")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lmplz", help="path of KenLM's lmplz, built outside this repository")
    parser.add_argument("--keep", action="store_true", help="keep the snapshots under $TMPDIR/seqpipe-bench-scale")
    parser.add_argument("--build-only", action="store_true", help="only write the corpora")
    args = parser.parse_args()
    seqpipe = [sys.executable, "-m", "seqpipe"]
    print(f"{'':34}{'wall s':>9}{'RSS max MB':>12}{'RSS all MB':>12}")
    for scale in (int(s) for s in args.scales.split(",")):
        folder = build_corpus(scale)
        if args.build_only:
            continue
        out = ROOT / f"out-x{scale}"
        stats = run_measured([*seqpipe, "stats", str(folder), "--out", str(out), "--name", f"x{scale}",
                              "--split", "0.9", "--orders", ",".join(map(str, range(1, args.order + 1))),
                              "--workers", str(args.workers), "--json"])
        summary = json.loads(stats["stdout"].strip().splitlines()[-2])
        tokens = summary["totals"]["1"]["ngrams"]
        print(f"--- {scale}x: {tokens / 1e6:.1f} M tokens, distinct "
              + " / ".join(f"{summary['totals'][str(n)]['distinct'] / 1e6:.2f} M" for n in range(1, args.order + 1)))
        print(row(f"stats --split 0.9 ({args.workers} workers)", stats))
        lm = run_measured([*seqpipe, "lm", "--snapshot", summary["snapshot"], "--order", str(args.order),
                           "--memory", args.memory, "--arpa", str(ROOT / f"x{scale}.arpa"), "--json"])
        figures = json.loads(lm["stdout"].strip().splitlines()[-1])
        print(row(f"lm --snapshot --order {args.order}", lm) + f"   ppl {figures['ppl_incl_oov']:.3f}")
        if args.lmplz:
            train = lmplz_training_text(folder)
            budget = args.memory.replace("GiB", "G").replace("MiB", "M")
            kenlm = run_measured([args.lmplz, "-o", str(args.order), "-S", budget, "-T", tempfile.gettempdir(),
                                  "--text", str(train), "--arpa", str(ROOT / f"x{scale}-kenlm.arpa")], quiet=True)
            print(row(f"lmplz -o {args.order} -S {budget}", kenlm)
                  + f"   ratio lm/lmplz wall {lm['wall_s'] / kenlm['wall_s']:.2f}")
        if not args.keep:
            import shutil

            shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    main()
