"""Peak RSS of an estimation stays within `--memory` (measured in a fresh process, like `lmplz -S`).

The child reads its peak from /proc (VmHWM): getrusage's ru_maxrss would still hold pytest's peak at fork.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from split_snapshot import write_split_snapshot

ROOT = Path(__file__).resolve().parents[3]
CHILD = """
import json, sys
from seqpipe.ngram_lm.engine import peak_rss
from seqpipe.ngram_lm.estimate import estimate_snapshot
from seqpipe.ngram_lm.config import NgramLMConfig
run = estimate_snapshot(sys.argv[1], NgramLMConfig(order=3), sys.argv[2], work_dir=sys.argv[3], threads=1,
                        arpa=sys.argv[3] + "/m.arpa")
print(json.dumps({"peak": peak_rss(), "ppl": run.test.ppl_incl_oov,
                  "ngrams": run.ngrams}))
"""


def _zipf_lines(tokens: int, vocab: int, seed: int, a: float = 1.05) -> list[str]:
    rng = np.random.default_rng(seed)
    words = np.array([f"w{i}" for i in range(vocab)])
    ids = np.minimum(rng.zipf(a, tokens), vocab) - 1
    lens = rng.integers(5, 30, tokens // 5)
    cuts = np.cumsum(lens)
    cuts = cuts[: np.searchsorted(cuts, tokens)]
    return [" ".join(x) for x in np.split(words[ids[: cuts[-1]]], cuts[:-1])]


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    folder = tmp_path_factory.mktemp("zipf")
    return write_split_snapshot(_zipf_lines(2_500_000, 200_000, 0), folder / "snap", (0.9,), orders=3, parts=4)


def _estimate(snapshot: Path, memory: str, work: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(snapshot), memory, str(work)], capture_output=True,
                          text=True, env=env, check=False, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_peak_rss_stays_within_a_small_budget(big, tmp_path):
    trigrams = sum(pq.read_metadata(p).num_rows for p in (big / "lm" / "n=3").glob("*.parquet"))
    assert trigrams > 1_000_000
    small = _estimate(big, "450MiB", tmp_path)  # the interpreter and its libraries take ~180-250 MiB of it
    assert small["peak"] <= 450 * 2**20, f"peak RSS {small['peak'] / 2**20:.0f} MiB over a 450 MiB budget"
    assert small["ngrams"][2] == trigrams
    roomy = _estimate(big, "2GiB", tmp_path)  # the budget changes where the work happens, not the model
    assert roomy["ppl"] == pytest.approx(small["ppl"], rel=1e-9)  # sums in another order only
    assert (tmp_path / "m.arpa").is_file() and [p.name for p in tmp_path.iterdir()] == ["m.arpa"]
