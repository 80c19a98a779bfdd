"""Training from a snapshot's memory-mapped token ids: the stream, the remap, the CLI, flat memory."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from lm_snapshots import big_snapshot, make_snapshot, pattern_lines

from seqpipe.batching import sequential_batches
from seqpipe.cli import main
from seqpipe.corpus.token_ids import open_split
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.run import train_lm
from seqpipe.train.snapshot_data import load_snapshot_corpus, model_vocab_order
from seqpipe.train.token_source import ArraySource, LineSource, SourceStream, sample_windows

LINES = {
    "train": [["b", "a", "c"], ["a"], ["c", "a", "a", "d"]],
    "valid": [["a", "e"], ["b"]],
    "test": [["d", "a"]],
}


def test_the_stream_joins_lines_with_eos_and_remaps_to_frequency_order(tmp_path):
    snap = make_snapshot(tmp_path / "s", LINES)
    corpus = load_snapshot_corpus(snap)
    # train counts: a 4, c 2, b 1, d 1 (ties alphabetical); e only in valid -> <unk>
    assert corpus.vocab.idx_to_token == ["<unk>", "</s>", "a", "c", "b", "d"]
    decode = lambda ids: [corpus.vocab.idx_to_token[i] for i in ids]
    want = ["b", "a", "c", "</s>", "a", "</s>", "c", "a", "a", "d", "</s>"]
    assert decode(corpus.train.read(0, len(corpus.train))) == want
    assert decode(corpus.valid.read(0, len(corpus.valid))) == ["a", "<unk>", "</s>", "b", "</s>"]
    for a, b in [(0, 11), (2, 5), (3, 4), (4, 9), (10, 11)]:  # any window, read or gathered
        assert decode(corpus.train.read(a, b)) == want[a:b]
        assert decode(corpus.train.gather(np.arange(a, b))) == want[a:b]
    assert corpus.counts.tolist() == [0, 3, 4, 2, 1, 1]  # </s>: one per training line
    small = load_snapshot_corpus(snap, max_vocab=4)
    assert small.vocab.idx_to_token == ["<unk>", "</s>", "a", "c"] and small.counts[0] == 2


def test_vocab_order_drops_rare_words_and_keeps_the_most_frequent():
    counts = np.array([0, 0, 0, 1, 7, 3, 3, 0])
    assert model_vocab_order(counts).tolist() == [4, 5, 6, 3]
    assert model_vocab_order(counts, min_freq=3).tolist() == [4, 5, 6]
    assert model_vocab_order(counts, max_vocab=4).tolist() == [4, 5]


def test_source_stream_gives_the_book_sequential_minibatches_and_resumes_mid_epoch():
    ids = np.arange(500) % 97
    stream = SourceStream(ArraySource(ids), 4, 7, "sequential", seed=3)
    rng_offset = stream._plan(0)[1]
    mine = list(stream.next_epoch())
    book = list(sequential_batches(torch.as_tensor(ids), 4, 7, rng_offset))
    assert len(mine) == len(book) == stream.batches_in(0)
    assert all(torch.equal(x, bx) and torch.equal(y, by) for (x, y), (bx, by) in zip(mine, book))
    stream.epoch = 0
    rest = list(stream.next_epoch(skip=5))
    assert all(torch.equal(x, mx) for (x, _), (mx, _) in zip(rest, mine[5:]))


def test_random_sampling_visits_every_subsequence_once_per_epoch():
    n, T, B = 1000, 10, 4
    stream = SourceStream(ArraySource(np.arange(n)), B, T, "random", seed=1)
    firsts = [int(v) for x, _ in stream.next_epoch() for v in x[:, 0]]
    offset = firsts[0] % T
    assert len(firsts) == len(set(firsts)) == ((n - offset - 1) // T) // B * B
    assert all((f - offset) % T == 0 for f in firsts)


def test_sample_windows_are_fixed_and_bounded():
    assert sample_windows(10**6, 20_000) == sample_windows(10**6, 20_000)
    assert sum(b - a for a, b in sample_windows(10**6, 20_000)) <= 20_000
    assert sample_windows(5000, 20_000) == [(0, 5000)]


def test_train_lm_on_a_snapshot_learns_and_writes_a_checkpoint(tmp_path, capsys):
    lines = {"train": pattern_lines(1500), "valid": pattern_lines(80, 1), "test": pattern_lines(80, 2)}
    snap = make_snapshot(tmp_path / "snap", lines)
    code = None
    with pytest.raises(SystemExit) as info:
        main(["train-lm", "--snapshot", str(snap), "--model", "gru", "--hidden", "32", "--embedding", "16",
              "--optimizer", "adam", "--lr", "0.01", "--batch", "8", "--steps", "10", "--epochs", "2",
              "--threads", "1", "--out", str(tmp_path / "run"), "--json"])
    code = info.value.code
    out = capsys.readouterr()
    assert code == 0, out.err
    summary = json.loads(out.out.strip().splitlines()[-1])
    assert summary["tokens"]["train"] == len(load_snapshot_corpus(snap).train)
    assert summary["valid_ppl"] < 0.5 * summary["unigram_valid_ppl"]  # it learned the successor rule
    assert summary["softmax"] == "full" and not summary["valid_sampled"] and not summary["test_sampled"]
    assert (tmp_path / "run" / "models" / "gru" / "checkpoint.pt").is_file()


def test_snapshot_without_token_ids_is_one_line_naming_the_stats_flags(tmp_path, capsys):
    (tmp_path / "snap").mkdir()
    (tmp_path / "snap" / "_manifest.json").write_text("{}")
    with pytest.raises(SystemExit) as info:
        main(["train-lm", "--snapshot", str(tmp_path / "snap"), "--epochs", "1", "--tokens", "word"])
    err = capsys.readouterr().err
    assert info.value.code == 2 and len(err.strip().splitlines()) == 1
    assert "stats SOURCE... --split" in err


RSS_PROBE = textwrap.dedent(
    """
    import json, sys, time
    import torch
    torch.set_num_threads(1)
    from seqpipe.train.config import LMRunConfig
    from seqpipe.train import loop
    from seqpipe.train.run import train_lm
    first = {}
    orig = loop.lm_loss
    def timed(*a, **k):
        first.setdefault("t", time.perf_counter() - t0)
        return orig(*a, **k)
    loop.lm_loss = timed
    cfg = LMRunConfig.model_validate({
        "data": {"snapshot": sys.argv[1], "tokens": "word", "max_vocab": 2000},
        "model": {"kind": "lstm", "hidden": 32, "embedding": 16, "softmax": "adaptive"},
        "train": {"batch_size": 8, "num_steps": 20, "epochs": 1, "minutes": 0.05, "threads": 1,
                  "eval_tokens": 2000, "test_tokens": 2000, "optimizer": "adam", "lr": 0.003},
    })
    t0 = time.perf_counter()
    s = train_lm(cfg, sys.argv[2])
    # VmHWM: this process's peak (ru_maxrss would inherit the parent's peak across fork + exec)
    hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
    print(json.dumps({"rss_mb": int(hwm) / 1024,
                      "first_step_s": first["t"], "steps": s.steps, "stopped": s.stopped}))
    """
)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_corpus(tmp_path):
    figures = {}
    for n in (1_000_000, 60_000_000):  # 2 MB vs 120 MB of uint16 ids
        snap = big_snapshot(tmp_path / f"s{n}", n)
        run = subprocess.run([sys.executable, "-c", RSS_PROBE, str(snap), str(tmp_path / f"out{n}")],
                             capture_output=True, text=True, timeout=300, check=False)
        assert run.returncode == 0, run.stderr
        figures[n] = json.loads(run.stdout.strip().splitlines()[-1])
        assert figures[n]["steps"] > 0 and figures[n]["stopped"] == "time-budget"
    grown = figures[60_000_000]["rss_mb"] - figures[1_000_000]["rss_mb"]
    # the ids grew by 118 MB (and 60x); what remains is a fixed ~20 MB transient of freshly written
    # file pages mapped around a fault (the same at 200 MB of ids), released after each batch window
    assert grown < 30, figures
    assert figures[60_000_000]["first_step_s"] < 10, figures  # contended 2-core box; ~1-2 s idle


def test_split_offsets_index_lines(tmp_path):
    snap = make_snapshot(tmp_path / "s", LINES)
    assert open_split(snap, "train").line(2).size == 4
    src = LineSource(np.array([3, 4], np.uint16), np.array([0, 1, 2]), np.arange(5), eos_id=1)
    assert src.line_of(np.array([0, 1, 2, 3])).tolist() == [0, 0, 1, 1]


def test_a_tiny_snapshot_run_config_round_trips(tmp_path):
    snap = make_snapshot(tmp_path / "s", {"train": pattern_lines(300), "valid": pattern_lines(20, 1),
                                           "test": pattern_lines(20, 2)})
    cfg = LMRunConfig(data=LMDataConfig(snapshot=str(snap), tokens="word"),
                      model=LMModelConfig(kind="lstm", hidden=8, softmax="adaptive"),
                      train=LMTrainConfig(batch_size=4, num_steps=5, epochs=1, threads=1))
    s = train_lm(cfg, tmp_path / "run")
    assert s.softmax == "adaptive" and s.test_ppl is not None and s.test_ppl < s.vocab_size


def test_reads_across_index_blocks_match_the_materialized_stream(tmp_path, monkeypatch):
    monkeypatch.setattr(LineSource, "BLOCK", 2)  # many blocks on a small corpus
    lines = pattern_lines(50, seed=3)
    snap = make_snapshot(tmp_path / "s", {"train": lines, "valid": lines[:3], "test": lines[:3]})
    corpus = load_snapshot_corpus(snap)
    ids = {t: i for i, t in enumerate(corpus.vocab.idx_to_token)}
    stream = [ids[t] for line in lines for t in [*line, "</s>"]]
    rng = np.random.default_rng(0)
    for _ in range(200):
        a = int(rng.integers(0, len(stream)))
        b = int(rng.integers(a + 1, min(len(stream), a + 40) + 1))
        assert corpus.train.read(a, b).tolist() == stream[a:b]
    assert corpus.train.gather(np.arange(len(stream))).tolist() == stream
