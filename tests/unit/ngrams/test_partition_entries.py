"""Partition entries on disk: what the merge reads from them equals what the partition counted."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.config import TextConfig
from seqpipe.corpus.partition import plan_partitions
from seqpipe.corpus.reader import sniff
from seqpipe.corpus.sources import expand_sources
from seqpipe.ngrams import dask_count, partition_cache
from seqpipe.ngrams.count import alphabetical_ids, count_partition

WORDS = ["the", "time", "machine", "by", "h", "g", "wells", "i", "the", "time", "traveller", "for", "so", "it", "will", "be", "convenient", "to", "speak", "of", "him"]


def _corpus(folder, files=3, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for i in range(files):
        lines = [" ".join(rng.choice(WORDS, size=rng.integers(0, 12))) for _ in range(60)]
        (folder / f"{i}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _partition(folder, blocksize=400):
    files = expand_sources([str(folder / "*.txt")])
    infos = [sniff(f, 0.3) for f in files]
    return files, infos, plan_partitions(files, infos, blocksize)


def test_local_ids_are_alphabetical_and_rows_sorted(tmp_path):
    files, infos, parts = _partition(_corpus(tmp_path / "c"))
    counts = count_partition(parts[0], files, infos, TextConfig(tokens="word"), (1, 2, 3))
    uniques = counts.summary.uniques.tolist()
    assert uniques == sorted(uniques)
    first = counts.summary.first_occurrence()
    assert sorted(first.tolist()) == list(range(len(uniques)))  # a permutation: each token's first-seen rank
    for n, (cols, _, row_files) in counts.rows.items():
        rows = list(zip(*(c.tolist() for c in cols), row_files.tolist()))
        assert rows == sorted(rows) and len(set(rows)) == len(rows), n  # sorted by (n-gram, file), unique


def test_alphabetical_ids_keep_the_tokens():
    ids = np.array([0, 1, 2, 0, 3, 1], np.int32)
    uniques = np.array(["zeta", "alpha", "émile", "beta"], dtype=object)
    new_ids, words, first = alphabetical_ids(ids, uniques)
    assert words.tolist() == sorted(uniques.tolist())
    assert words[new_ids].tolist() == uniques[ids].tolist()
    assert uniques[first].tolist() == words.tolist()


@pytest.mark.parametrize("bounds", [(0, None), (0, 3), (2, 7), (5, None), (40, None)])
def test_bucket_rows_read_one_w1_range(tmp_path, bounds):
    files, infos, parts = _partition(_corpus(tmp_path / "c", files=2), blocksize=100_000)
    partition = parts[0]
    assert len({p.file_index for p in partition.pieces}) == 2  # rows of two files in one entry
    counts = count_partition(partition, files, infos, TextConfig(tokens="word"), (1, 2, 3))
    entry = tmp_path / "entry.npz"
    partition_cache.save(entry, counts, partition)
    assert partition_cache.is_complete(entry, (1, 2, 3)) and not partition_cache.is_complete(entry, (1, 2, 3, 4))
    # a global id space with tokens of other partitions in between: the mapping increases with gaps
    mapping = np.arange(len(counts.summary.uniques), dtype=np.int32) * 3 + 1
    lo, hi = bounds
    for n, (cols, match, row_files) in counts.rows.items():
        got_cols, got_match, got_files = partition_cache.bucket_rows(str(entry), n, partition_cache.files_of(partition),
                                                                     mapping, lo, hi)
        w1 = mapping[cols[0]]
        keep = (w1 >= lo) & (w1 < (hi if hi is not None else np.inf))
        assert [c.tolist() for c in got_cols] == [mapping[c[keep]].tolist() for c in cols], n
        assert got_match.tolist() == match[keep].tolist() and got_files.tolist() == row_files[keep].tolist(), n


def test_a_complete_entry_is_reused_and_a_broken_one_counted_again(tmp_path):
    files, infos, parts = _partition(_corpus(tmp_path / "c"))
    entry = tmp_path / "e.npz"
    text = TextConfig(tokens="word")
    summary, reused = dask_count.count_to_entry(parts[0], files, infos, text, (1, 2), str(entry), 1 << 20)
    assert not reused and entry.exists()
    again, reused = dask_count.count_to_entry(parts[0], files, infos, text, (1, 2), str(entry), 1 << 20)
    assert reused and again.uniques.tolist() == summary.uniques.tolist()
    entry.write_bytes(entry.read_bytes()[:200])  # torn by a crash of something else than our atomic writer
    third, reused = dask_count.count_to_entry(parts[0], files, infos, text, (1, 2), str(entry), 1 << 20)
    assert not reused and third.n_tokens == summary.n_tokens and partition_cache.is_complete(entry, (1, 2))


@pytest.mark.parametrize("reuse", [True, False])
def test_counts_from_entries_equal_a_counter(tmp_path, reuse):
    corpus = _corpus(tmp_path / "c", files=4, seed=3)
    result = run_count([corpus / "*.txt"], tmp_path / "out", name="c", tokens="word", boundary="line",
                       blocksize=300, buckets=3, reuse_counts=reuse)
    oracle = Counter()
    for f in sorted(corpus.glob("*.txt")):
        for line in f.read_text(encoding="utf-8").splitlines():
            words = line.split()
            oracle.update(zip(words, words[1:], words[2:]))
    assert snapshot_counters(result.snapshot, 3)[0] == oracle
    assert not (result.snapshot / ".rows").exists()  # this run's own entries never reach the snapshot
    assert any((tmp_path / "out" / "corpus" / "c" / "partition-cache").glob("*.npz")) == reuse


def test_an_entry_written_after_its_folder_was_removed_does_not_bring_it_back(tmp_path):
    """A count task that outlives its failed run must not recreate the run's removed staging folder."""
    files, infos, parts = _partition(_corpus(tmp_path / "c"))
    counts = count_partition(parts[0], files, infos, TextConfig(tokens="word"), (1, 2))
    gone = tmp_path / "staging" / ".rows"
    with pytest.raises(FileNotFoundError):
        partition_cache.save(gone / "e.npz", counts, parts[0])
    assert not (tmp_path / "staging").exists()


def test_global_vocabulary_orders_any_script_as_python_does():
    """Arrow sorts UTF-8 bytes, Python code points: the same order, so the id maps of every partition
    increase (which the in-place slices rely on), for CJK, emoji and accents alike."""
    from seqpipe.ngrams.count import PartitionSummary
    from seqpipe.ngrams.merge import build_global_vocab

    streams = [["時間", "机器", "é", "e", "😀", "時間", "z", "\x00x"], ["机器", "ß", "e", "Z", "😀", "😀", "é"]]
    summaries = []
    for index, stream in enumerate(streams):
        first = list(dict.fromkeys(stream))
        ids, uniques, first_seen = alphabetical_ids(np.array([first.index(t) for t in stream], np.int32),
                                                    np.array(first, dtype=object))
        summaries.append(PartitionSummary(index, uniques, np.bincount(ids, minlength=len(uniques)), [], [], [], [],
                                          len(stream), False, first_seen=first_seen))
    vocab = build_global_vocab(summaries)
    everything = [t for s in streams for t in s]
    assert vocab.alpha_tokens.tolist() == sorted(set(everything))
    counts = Counter(everything)  # Counter keeps first-occurrence order: the book's ties
    assert vocab.by_frequency["token"].tolist() == [t for t, _ in sorted(counts.items(), key=lambda kv: -kv[1])]
    for summary, mapping in zip(summaries, vocab.mappings):
        assert vocab.alpha_tokens[mapping].tolist() == summary.uniques.tolist()
        assert (np.diff(mapping) > 0).all()
