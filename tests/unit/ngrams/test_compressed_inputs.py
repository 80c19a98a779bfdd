"""Compressed inputs, planned at their text size, count like the Counter oracle (d2l bytes path included)."""

from __future__ import annotations

import bz2
import gzip
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from oracles import oracle_counts
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.corpus.partition import plan_partitions
from seqpipe.corpus.reader import sniff
from seqpipe.corpus.sources import expand_sources

COMPRESS = {".gz": gzip.compress, ".bz2": bz2.compress, "": bytes}
docs_st = st.lists(st.tuples(st.text(alphabet="ab Cé\n\r.", max_size=50), st.sampled_from(sorted(COMPRESS))),
                   min_size=1, max_size=5)


@settings(max_examples=40, deadline=None)
@given(docs=docs_st, boundary=st.sampled_from(["flat", "document"]), normalize=st.sampled_from(["d2l", "unicode"]),
       blocksize=st.sampled_from([1, 60, 4096]))
def test_compressed_corpus_equals_oracle(docs, boundary, normalize, blocksize):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        texts = [text for text, _ in docs]
        for i, (text, suffix) in enumerate(docs):
            (folder / f"{i:02d}.txt{suffix}").write_bytes(COMPRESS[suffix](text.encode("utf-8")))
        expected = {n: oracle_counts(texts, normalize, "word", boundary, n) for n in (1, 2, 3)}
        if sum(expected[1][0].values()) == 0:
            return  # an empty corpus is refused; test_partition_invariance covers that
        result = run_count([folder], Path(tmp) / "out", normalize=normalize, tokens="word", boundary=boundary,
                           blocksize=blocksize, workers=0)
        for n in (1, 2, 3):
            match, doc_count = snapshot_counters(result.snapshot, n)
            assert match == +expected[n][0]
            assert doc_count == +expected[n][1]


def test_gzip_shards_get_one_partition_each(tmp_path):
    """Three .gz files of 13 MB text once shared one 16 MiB partition: planned by text size they do not."""
    for i in range(3):
        (tmp_path / f"{i}.txt.gz").write_bytes(gzip.compress(b"the time machine\n" * 500))
    files = expand_sources([str(tmp_path)])
    size = files[0].size
    parts = plan_partitions(files, [sniff(f) for f in files], blocksize=3 * size)
    assert [[p.file_index for p in part.pieces] for part in parts] == [[0], [1], [2]]
