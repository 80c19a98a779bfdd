"""`estimate_snapshot`: an n-gram LM from a split snapshot's Parquet counts, within a memory budget.

Everything large lives in a DuckDB database in a scratch folder (spilling to disk when the budget is
reached): the count views, the model tables, the held-out positions. What Python holds is bounded by
the vocabulary. The ARPA file and the samples are produced before the scratch folder is removed.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from seqpipe.corpus.token_ids import SPLITS, open_split
from seqpipe.io import finite
from seqpipe.ngram_lm.arpa import check_tokens, write_arpa_tables
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.engine import connect, parse_memory, peak_rss
from seqpipe.ngram_lm.generate import sample_sentences
from seqpipe.ngram_lm.mkn import estimate_mkn
from seqpipe.ngram_lm.perplexity import Perplexity
from seqpipe.ngram_lm.positions import load_positions
from seqpipe.ngram_lm.sample import TableLM
from seqpipe.ngram_lm.samples import continue_training_text
from seqpipe.ngram_lm.scoring import score_counts, score_mkn, summarize
from seqpipe.ngram_lm.snapshot import SnapshotInputs, find_corrupt_part, open_snapshot
from seqpipe.ngram_lm.sql import cols
from seqpipe.samples import Sample


@dataclass
class SnapshotLMRun:
    """A model estimated from a snapshot's LM counts and its perplexities on the held-out splits."""

    config: NgramLMConfig
    sources: list[str]
    ngrams: list[int]
    vocab_size: int
    test: Perplexity
    valid: Perplexity | None
    split: dict[str, dict[str, int]]
    discounts: list[tuple[float, float, float]] = field(default_factory=list)
    fallback: dict[int, str] = field(default_factory=dict)
    arpa: Path | None = None
    samples: list[list[str]] = field(default_factory=list)
    prefix_samples: list[Sample] = field(default_factory=list)  # continuations of the training text's start
    peak_rss: int = 0
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-ready figures, the keys of `LMRun.summary` (an infinite perplexity is null)."""
        c = self.config
        out: dict[str, Any] = {
            "sources": self.sources, "order": c.order, "smoothing": c.smoothing,
            **({"k": c.k} if c.smoothing == "addk" else {}),
            **{key: finite(v) for key, v in asdict(self.test).items()},
            "vocab_size": self.vocab_size, "ngrams": self.ngrams, "split": self.split,
            "text": {"normalize": c.normalize, "tokens": c.tokens, "boundary": c.boundary},
        }
        if c.smoothing == "mkn":
            out["discounts"] = {str(k): list(d) for k, d in enumerate(self.discounts, start=1)}
            out["discount_fallback"] = {str(k): why for k, why in self.fallback.items()}
        if self.valid is not None:
            out["valid"] = {key: finite(v) for key, v in asdict(self.valid).items()}
        return out


def _setup(con: duckdb.DuckDBPyConnection, snap: SnapshotInputs, order: int) -> np.ndarray:
    """Count views c1..cN over the Parquet parts and the `vocab` table; return the LM's ids (sorted)."""
    for k in range(1, order + 1):
        files = ", ".join("'" + str(p).replace("'", "''") + "'" for p in snap.parts[k - 1])
        con.execute(f"CREATE VIEW c{k} AS SELECT {cols(k)}, match_count FROM read_parquet([{files}])")
    unigrams = con.execute("SELECT w1 FROM c1").fetchnumpy()["w1"].astype(np.int64)
    if unigrams.size and (unigrams.max() >= snap.vocab_size):
        raise ValueError(f"{snap.folder}: lm/n=1 holds id {int(unigrams.max())}, outside tokens/vocab.parquet")
    lm_ids = np.union1d(unigrams, [0, 1, 2])
    if lm_ids.size <= 3:
        raise ValueError(f"{snap.folder}: no training text (lm/n=1 holds no words)")
    vocab = pa.table({"id": pa.array(np.arange(snap.vocab_size), pa.uint32()),
                      "token": pa.array(snap.vocab_tokens, pa.string()), "rank": pa.array(snap.rank, pa.int64())})
    con.register("vocab_arrow", vocab)
    con.execute("CREATE TABLE vocab AS SELECT * FROM vocab_arrow")
    con.unregister("vocab_arrow")
    return lm_ids


def _count_totals(con: duckdb.DuckDBPyConnection, order: int) -> None:
    """Context totals for add-k / MLE: tot1(total) and tot{k}(w1..w{k-1}, den)."""
    con.execute("CREATE TABLE tot1 AS SELECT sum(match_count)::DOUBLE AS total FROM c1 WHERE w1 <> 1")
    for k in range(2, order + 1):
        con.execute(f"CREATE TABLE tot{k} AS SELECT {cols(k - 1)}, sum(match_count)::DOUBLE AS den "
                    f"FROM c{k} GROUP BY {cols(k - 1)}")


def _ngram_sizes(con: duckdb.DuckDBPyConnection, order: int, unigrams: int) -> list[int]:
    """Distinct n-grams per order; order 1 is the LM's vocabulary (`<unk>` and `<s>` included)."""
    return [unigrams] + [int(con.execute(f"SELECT count(*) FROM c{k}").fetchall()[0][0]) for k in range(2, order + 1)]


def _run(con: duckdb.DuckDBPyConnection, snap: SnapshotInputs, config: NgramLMConfig, arpa: Path | None,
         generate: int, seed: int, prefix_samples: bool = False) -> SnapshotLMRun:
    order, mkn = config.order, config.smoothing == "mkn"
    lm_ids = _setup(con, snap, order)
    if arpa is not None:
        check_tokens(snap.vocab_tokens, lm_ids)
    vocab_size = int(lm_ids.size) - 1
    lut = np.zeros(snap.vocab_size, np.uint32)
    lut[lm_ids] = lm_ids
    facts = None
    if mkn:
        facts = estimate_mkn(con, order, snap.rank, lm_ids[lm_ids >= 3], config.discount_fallback)
    else:
        _count_totals(con, order)
    train = open_split(snap.folder, "train")
    sizes: dict[str, dict[str, int]] = {"train": {"lines": train.lines, "tokens": int(train.ids.size)}}
    scores: dict[str, Perplexity] = {}
    for name in SPLITS[1:]:
        try:
            split = open_split(snap.folder, name)
        except ValueError:
            if name == "test":
                raise
            continue
        if split.lines == 0:
            if name == "test":
                raise ValueError(f"{snap.folder}: the test split is empty: make the snapshot with a smaller --split")
            continue
        sentences, _ = load_positions(con, split, lut, order, snap.boundary)
        if mkn:
            score_mkn(con, order)
        else:
            score_counts(con, order, config.k if config.smoothing == "addk" else 0.0, vocab_size)
        con.execute("DROP TABLE pos")
        scores[name] = summarize(con, vocab_size, sentences)
        sizes[name] = {"lines": split.lines, "tokens": int(split.ids.size)}
    if arpa is not None:
        write_arpa_tables(con, order, arpa)
    samples: list[list[str]] = []
    continued: list[Sample] = []
    if generate or prefix_samples:
        model = TableLM(con, order, config.smoothing, config.k if config.smoothing == "addk" else 0.0,
                        snap.vocab_tokens, lm_ids)
        samples = sample_sentences(model, generate, seed) if generate else []  # type: ignore[arg-type]
        if prefix_samples:
            continued = continue_training_text(model, train, snap.vocab_tokens, config.tokens)  # type: ignore[arg-type]
    run = SnapshotLMRun(
        config, snap.sources, _ngram_sizes(con, order, int(lm_ids.size)), vocab_size, scores["test"], scores.get("valid"),
        {k: sizes[k] for k in ("train", "valid", "test") if k in sizes},
        facts.discounts if facts else [], facts.fallback if facts else {}, arpa, samples,
    )
    run.prefix_samples = continued
    return run


def estimate_snapshot(
    snapshot: str | Path, config: NgramLMConfig, memory: str | int = "2GiB", work_dir: str | Path | None = None,
    *, arpa: str | Path | None = None, generate: int = 0, seed: int = 0, threads: int | None = None,
    prefix_samples: bool = False,
) -> SnapshotLMRun:
    """Estimate `config`'s model from a split snapshot's LM counts within `memory`; score test (and valid).

    The split, normalization, token unit and boundary come from the snapshot's manifest; `work_dir`
    (default: the system temp folder) receives a scratch folder that is removed afterwards.
    """
    start = time.perf_counter()
    budget = parse_memory(memory)
    snap = open_snapshot(snapshot, config.order)
    if config.smoothing != "mkn" and arpa is not None:
        raise ValueError(f"--arpa needs a back-off model: use --smoothing mkn (not {config.smoothing})")
    config = config.model_copy(update={
        "split": snap.fractions or config.split, "normalize": snap.normalize, "tokens": snap.tokens,
        "boundary": snap.boundary,
    })
    base = Path(work_dir) if work_dir is not None else Path(tempfile.gettempdir())
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="seqpipe-lm-", dir=base))
    try:
        con = connect(scratch, budget, snap.vocab_size, threads or min(16, os.cpu_count() or 1))
        try:
            run = _run(con, snap, config, Path(arpa) if arpa is not None else None, generate, seed, prefix_samples)
        except duckdb.OutOfMemoryException as exc:
            raise ValueError(f"--memory {memory}: DuckDB ran out of memory ({str(exc).splitlines()[0]})") from None
        except duckdb.Error as exc:
            corrupt = find_corrupt_part(snap)
            if corrupt:
                raise ValueError(corrupt) from None
            raise ValueError(f"{snap.folder}: estimation failed ({' '.join(str(exc).split())[:300]})") from None
        finally:
            con.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    run.peak_rss, run.seconds = peak_rss(), time.perf_counter() - start
    return run
