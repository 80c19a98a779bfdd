"""`stats --split`: LM counts of the training lines and token ids per split, against a Counter oracle."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracles import oracle_lm_split
from unit.ngrams.helpers import run_count

from seqpipe.corpus.errors import CorpusError
from seqpipe.corpus.token_ids import SPLITS, open_split, read_token_vocab
from seqpipe.ngrams import store

ALPHABETS = {"ascii": "ab c\nde.", "cjk": "道不一了那\n 。", "mixed": "aé道 Z1\n\r"}
texts = st.sampled_from(sorted(ALPHABETS)).flatmap(
    lambda name: st.lists(st.text(alphabet=ALPHABETS[name], max_size=80), min_size=1, max_size=4)
)


def lm_counter(snapshot: Path, order: int) -> Counter:
    """lm/n=order decoded to token tuples, through tokens/vocab.parquet."""
    vocab = read_token_vocab(snapshot).column("token").to_pylist()
    table = ds.dataset(str(snapshot / "lm" / f"n={order}"), format="parquet").to_table().to_pydict()
    grams = zip(*(table[f"w{i + 1}"] for i in range(order)))
    return Counter({tuple(vocab[i] for i in g): c for g, c in zip(grams, table["match_count"])})


def split_lines_tokens(snapshot: Path, name: str) -> list[list[str]]:
    """tokens/<name> decoded line by line."""
    vocab = read_token_vocab(snapshot).column("token").to_pylist()
    s = open_split(snapshot, name)
    return [[vocab[i] for i in s.line(j)] for j in range(s.lines)]


def write_docs(folder: Path, docs: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, doc in enumerate(docs):
        (folder / f"{i:02d}.txt").write_bytes(doc.encode("utf-8"))
    return folder


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    docs=texts,
    lm_boundary=st.sampled_from(["line", "flat"]),
    unit=st.sampled_from(["char", "word"]),
    normalize=st.sampled_from(["unicode", "raw", "d2l"]),
    blocksize=st.sampled_from([1, 5, 64, 4096]),
    fractions=st.sampled_from([(0.5,), (0.6, 0.2), (0.9,)]),
)
def test_split_outputs_match_oracle(docs, lm_boundary, unit, normalize, blocksize, fractions):
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_docs(Path(tmp) / "in", docs)
        splits, _ = oracle_lm_split(docs, normalize, unit, fractions, lm_boundary, 1)
        kw = dict(normalize=normalize, tokens=unit, boundary="flat", blocksize=blocksize, workers=0,
                  orders=(1, 2, 3), split=fractions, lm_boundary=lm_boundary)
        if not any(any(line) for line in splits["train"]):
            with pytest.raises(ValueError):
                run_count([folder], Path(tmp) / "out", **kw)
            return
        snap = run_count([folder], Path(tmp) / "out", **kw).snapshot
        for order in (1, 2, 3):
            assert lm_counter(snap, order) == oracle_lm_split(docs, normalize, unit, fractions, lm_boundary, order)[1]
        for name in SPLITS:
            assert split_lines_tokens(snap, name) == splits[name], name
        manifest = store.read_manifest(snap)
        assert manifest["split"]["lines"] == {name: len(splits[name]) for name in SPLITS}
        assert manifest["lm"]["orders"] == [1, 2, 3]


def test_markers_in_raw_text_read_as_whitespace(tmp_path):
    docs = ["a <s> b\n</s>\n<unk> c\nd\n"]
    snap = run_count([write_docs(tmp_path / "in", docs)], tmp_path / "out", normalize="raw", tokens="word",
                     workers=0, orders=(1, 2), split=(0.75,)).snapshot
    assert lm_counter(snap, 2) == Counter({("<s>", "a"): 1, ("a", "b"): 1, ("b", "</s>"): 1, ("<s>", "c"): 1,
                                           ("c", "</s>"): 1})
    assert split_lines_tokens(snap, "train") == [["a", "b"], ["c"]]


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_real_local_cluster_many_parts_sorted_and_typed(tmp_path, method):
    """Two Dask worker processes, tiny partitions and several w1 buckets: same counts, sorted across parts.

    The split stage ships each partition's counts between workers: spawned and forked workers alike."""
    from seqpipe.parallel import dask_client

    docs = ["the cat sat\non the mat\n" * 20, "道可道非常道\n名可名\n" * 10, "the cat\r\nran far\rthe end\n" * 15]
    folder = write_docs(tmp_path / "in", docs)
    with dask_client(2, method=method) as client:
        snap = run_count([folder], tmp_path / "out", client, normalize="unicode", tokens="word", blocksize=40,
                         workers=2, buckets=3, orders=(1, 2, 3, 4), split=(0.7, 0.1)).snapshot
    for order in (1, 2, 3, 4):
        assert lm_counter(snap, order) == oracle_lm_split(docs, "unicode", "word", (0.7, 0.1), "line", order)[1]
        parts = sorted((snap / "lm" / f"n={order}").glob("part-*.parquet"))
        assert len(parts) == 3
        rows = [r for p in parts for r in zip(*pq.read_table(p).to_pydict().values())]
        keys = [r[:order] for r in rows]
        assert keys == sorted(keys) and len(set(keys)) == len(keys), "sorted within and across parts"
        assert pq.read_schema(parts[0]).field("w1").type == "uint32"
    assert open_split(snap, "train").ids.dtype == np.uint16


def test_timemachine_lm_counts_equal_the_in_memory_counts(tmp_path):
    """The book's corpus, first 90 % of lines: the k-gram tables the n-gram LM is estimated from."""
    from reference_lm.lm_counts import count_ngrams

    from seqpipe.corpus import load_lines
    from seqpipe.text.split import split_lines

    snap = run_count(["timemachine"], tmp_path, orders=(1, 2, 3, 4, 5), workers=0, blocksize=50_000,
                     split=(0.9,)).snapshot
    counts = count_ngrams(split_lines(load_lines("timemachine", "d2l"), "0.9").train, 5)
    manifest = store.read_manifest(snap)
    distinct = [manifest["lm"]["totals"][str(k)]["distinct"] for k in range(1, 6)]
    assert distinct == [4346, 19197, 26989, 26630, 24426]
    assert distinct == [int((t.counts > 0).sum()) for t in counts.tables]
    assert manifest["split"]["lines"] == {"train": 2575, "valid": 0, "test": 273}
    vocab = read_token_vocab(snap).to_pydict()
    train = dict(zip(vocab["token"], vocab["train_count"]))
    assert train["the"] == counts.vocab.counts[counts.vocab["the"]] and train["<s>"] == 2575


@pytest.mark.parametrize("split", ["1.2", "0.5,0.6", "x"])
def test_bad_split_is_one_line(split):
    from seqpipe.config import NgramConfig

    with pytest.raises(ValueError, match="split"):
        NgramConfig(split=split)


def test_empty_training_range_is_refused(tmp_path):
    docs = ["\n\n\n\n\n\n\n\n\na b c\n"]
    with pytest.raises(CorpusError, match="training lines hold no tokens"):
        run_count([write_docs(tmp_path / "in", docs)], tmp_path / "out", workers=0, split=(0.5,))
    assert not (tmp_path / "out" / "corpus" / "t" / "LATEST").exists()
