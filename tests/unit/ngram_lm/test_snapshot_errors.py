"""Bad snapshots and budgets: one-line errors naming what to do, and nothing written under the ARPA name."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from split_snapshot import write_split_snapshot

import seqpipe.ngram_lm.arpa as arpa_mod
from seqpipe.cli import main
from seqpipe.corpus.token_ids import write_split
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.estimate import estimate_snapshot

LINES = ["the time machine", "the time traveller", "a machine", "the traveller came", "a time"] * 4
MAKE = "--split 0.9 --orders 1,2,3,4,5"


@pytest.fixture
def snap(tmp_path):
    return write_split_snapshot(LINES, tmp_path / "snap", (0.8,), orders=3)


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def _fails(capsys, snapshot, *extra: str) -> str:
    code, out, err = _cli(capsys, "lm", "--snapshot", str(snapshot), "--memory", "8GiB", *extra)
    assert code == 2 and out == "" and err.startswith("seqpipe: error: ") and err.count("\n") == 1
    return err


def test_a_snapshot_without_split_names_the_stats_flags(snap, capsys):
    manifest = json.loads((snap / "_manifest.json").read_text())
    del manifest["split"], manifest["lm"]
    (snap / "_manifest.json").write_text(json.dumps(manifest))
    assert MAKE in _fails(capsys, snap) and "no train/test split" in _fails(capsys, snap)


def test_a_lower_max_order_names_the_stats_flags(snap, capsys):
    err = _fails(capsys, snap, "--order", "5")
    assert "LM counts go up to order 3, --order 5 needs orders 1..5" in err and MAKE in err


def test_missing_and_corrupt_part_files_are_named_and_nothing_is_written(snap, capsys, tmp_path):
    arpa = tmp_path / "out.arpa"
    part = min((snap / "lm" / "n=2").glob("part-*.parquet"))
    good = part.read_bytes()
    part.write_bytes(good[: len(good) // 2])
    err = _fails(capsys, snap, "--arpa", str(arpa))
    assert str(part) in err and "corrupt" in err
    part.write_bytes(good)
    part = min((snap / "lm" / "n=3").glob("part-*.parquet"))
    data = bytearray(part.read_bytes())
    data[8 : len(data) // 2] = b"\xab" * (len(data) // 2 - 8)  # data pages garbled, footer intact
    part.write_bytes(bytes(data))
    err = _fails(capsys, snap, "--arpa", str(arpa))
    assert str(part) in err and "corrupt" in err
    shutil.rmtree(snap / "lm" / "n=2")
    assert "lm/n=2: no LM count files" in _fails(capsys, snap, "--arpa", str(arpa))
    assert not arpa.exists() and list(tmp_path.glob("*.arpa*")) == []


def test_not_a_snapshot_and_both_inputs(tmp_path, capsys, snap):
    assert "not a snapshot" in _fails(capsys, tmp_path / "nowhere")
    code, _, err = _cli(capsys, "lm", "timemachine", "--snapshot", str(snap))
    assert code == 2 and "either SOURCES or --snapshot" in err


def test_a_budget_below_the_vocabulary_minimum_says_the_minimum(snap, capsys):
    err = _fails(capsys, snap, "--memory", "20MiB")
    assert "is too small for a vocabulary of 9 tokens: give at least" in err
    assert "--memory '2 apples'" in _fails(capsys, snap, "--memory", "2 apples")


def test_an_interrupted_arpa_leaves_nothing_under_its_name(snap, tmp_path, monkeypatch):
    arpa = tmp_path / "model.arpa"
    arpa.write_text("previous model\n")
    calls = []

    def broken(column):
        calls.append(1)
        if len(calls) > 1:
            raise OSError("disk full")
        return arpa_mod._bytes.__wrapped__(column)  # type: ignore[attr-defined]

    broken.__wrapped__ = arpa_mod._bytes  # type: ignore[attr-defined]
    monkeypatch.setattr(arpa_mod, "_bytes", broken)
    with pytest.raises(OSError, match="disk full"):
        estimate_snapshot(snap, NgramLMConfig(order=3), "8GiB", arpa=arpa, threads=1)
    assert arpa.read_text() == "previous model\n" and sorted(p.name for p in tmp_path.iterdir()) == ["model.arpa", "snap"]


def test_a_corpus_folder_means_its_latest_snapshot(snap, tmp_path, capsys):
    corpus = tmp_path / "corpus"
    (corpus / "snapshots").mkdir(parents=True)
    shutil.move(str(snap), corpus / "snapshots" / "run1")
    (corpus / "LATEST").write_text("run1\n")
    code, out, _ = _cli(capsys, "lm", "--snapshot", str(corpus), "--order", "2", "--memory", "8GiB", "--json",
                        "--generate", "1", "--smoothing", "addk", "--k", "0.5")
    payload = json.loads(out.splitlines()[-1])
    assert code == 0 and payload["sources"] == [str(corpus / "snapshots" / "run1")] and payload["k"] == 0.5
    assert "Perplexity including OOVs:\t" in out and len(payload["samples"]) == 1


def test_an_empty_test_split_is_one_line(tmp_path, capsys):
    snap = write_split_snapshot(LINES[:4], tmp_path / "s", (0.9,), orders=2)  # int(0.9 * 4) = 3 train lines, 1 test
    (snap / "tokens" / "test" / "offsets.npy").unlink()
    assert "token ids missing or corrupt" in _fails(capsys, snap, "--order", "2")
    snap = write_split_snapshot(LINES[:2], tmp_path / "t", (0.99,), orders=2)  # int(0.99 * 2) = 1 train, 1 test
    write_split(snap, "test", np.empty(0, np.uint16), np.zeros(1, np.int64))
    assert "the test split is empty" in _fails(capsys, snap, "--order", "2")
