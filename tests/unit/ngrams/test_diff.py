"""`seqpipe diff`: n-grams that appeared, vanished and moved, new vocabulary and file changes, checked against
`collections.Counter` on two small hand-made corpora; pairs that cannot be compared are one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from unit.ngrams.helpers import run_count

from seqpipe.corpus.errors import CorpusError
from seqpipe.ngrams.diff import diff_snapshots, to_markdown, write_diff

ROOT = Path(__file__).resolve().parents[3]
BEFORE = {"a.txt": "the cat sat on the mat\nthe cat ran\n", "b.txt": "a dog sat on the log\n",
          "gone.txt": "an owl flew\n"}
AFTER = {"a.txt": "the cat sat on the mat\nthe cat sat\nthe cat sat again\n", "b.txt": "a dog sat on the log\n",
         "new.txt": "a zebra sat on the cat\n"}


def oracle(files: dict[str, str], n: int) -> Counter:
    """n-gram counts inside lines (boundary=line), d2l tokens (these texts are lower-case words already)."""
    found: Counter = Counter()
    for text in files.values():
        for line in text.splitlines():
            words = line.split()
            found.update(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
    return found


def write(folder: Path, files: dict[str, str]) -> None:
    for old in folder.glob("*.txt"):
        old.unlink()
    for name, text in files.items():
        (folder / name).write_text(text)


@pytest.fixture
def pair(tmp_path):
    """Two published snapshots of corpus `pets`: BEFORE then AFTER."""
    docs, out = tmp_path / "docs", tmp_path / "out"
    docs.mkdir()
    write(docs, BEFORE)
    a = run_count([docs], out, name="pets", boundary="line")
    write(docs, AFTER)
    b = run_count([docs], out, name="pets", boundary="line")
    return a.snapshot, b.snapshot, out


def test_diff_matches_counters_of_the_two_corpora(pair):
    a, b, _ = pair
    found = diff_snapshots(a, b, k=1000)
    for n in (1, 2, 3):
        old, new = oracle(BEFORE, n), oracle(AFTER, n)
        rows = found.ngrams[found.ngrams["n"] == n]
        appeared = rows[rows["change"] == "appeared"]
        assert dict(zip(appeared["ngram"], appeared["count_b"])) == {g: c for g, c in new.items() if g not in old}
        vanished = rows[rows["change"] == "vanished"]
        assert dict(zip(vanished["ngram"], vanished["count_a"])) == {g: c for g, c in old.items() if g not in new}
        moved = rows[rows["change"] == "count"]
        assert dict(zip(moved["ngram"], moved["delta"])) == {g: new[g] - old[g] for g in old if g in new and new[g] != old[g]}
        totals = found.orders.set_index("n").loc[n]
        assert (totals["distinct_a"], totals["distinct_b"]) == (len(old), len(new))
        assert (totals["appeared"], totals["vanished"]) == (len(set(new) - set(old)), len(set(old) - set(new)))
    # unigrams before: the 4, cat/sat/on 2 (rank 2); after: the 6, sat 5, cat 4, on 3. Biggest count move: sat +3
    count_1 = found.ngrams[(found.ngrams["n"] == 1) & (found.ngrams["change"] == "count")]
    assert count_1.iloc[0][["ngram", "delta"]].tolist() == ["sat", 3]
    rank = found.ngrams[(found.ngrams["n"] == 1) & (found.ngrams["change"] == "rank")]
    assert rank["ngram"].tolist()[:2] == ["on", "cat"]  # rank 2 -> 4, then 2 -> 3; "the" and "sat" kept theirs
    assert rank.set_index("ngram").loc["on", ["rank_a", "rank_b", "rank_delta"]].tolist() == [2, 4, 2]
    assert not {"the", "sat"} & set(rank["ngram"])


def test_vocabulary_and_file_changes(pair):
    a, b, _ = pair
    found = diff_snapshots(a, b)
    vocab = {c: dict(zip(g["token"], g["match_count"])) for c, g in found.vocab.groupby("change")}
    assert vocab == {"added": {"zebra": 1, "again": 1}, "removed": {"ran": 1, "an": 1, "owl": 1, "flew": 1}}
    files = found.files.assign(name=found.files["uri"].map(lambda u: Path(u).name)).set_index("name")
    assert files["change"].to_dict() == {"a.txt": "changed", "gone.txt": "removed", "new.txt": "added"}
    assert files.loc["a.txt", ["tokens_a", "tokens_b"]].tolist() == [9, 13]
    assert pd.isna(files.loc["new.txt", "tokens_a"]) and files.loc["new.txt", "tokens_b"] == 6
    assert found.summary()["files"] == {"added": 1, "changed": 1, "removed": 1}


def test_written_parquet_and_markdown(pair):
    a, b, _ = pair
    found = diff_snapshots(a, b, k=3)
    folder = write_diff(found)
    assert folder == a.parent.parent / "diffs" / f"{a.name}..{b.name}"
    back = pd.read_parquet(folder / "ngrams.parquet")
    assert back.equals(found.ngrams) and len(back[(back["n"] == 2) & (back["change"] == "appeared")]) == 3
    assert pd.read_parquet(folder / "vocab.parquet").equals(found.vocab)
    meta = json.loads((folder / "diff.json").read_text())
    assert meta["kind"] == "snapshot-diff" and meta["schema_version"] >= 1
    assert meta["run_a"] == a.name and meta["vocab"] == {"added": 2, "removed": 4}
    md = to_markdown(found)
    assert "## 3-grams: appeared" in md and "| zebra |  | 1 | 1 |" in md


def test_snapshots_of_different_corpora_or_text_configs_cannot_be_compared(pair, tmp_path):
    _, b, out = pair
    other = run_count([tmp_path / "docs"], out, name="other", boundary="line").snapshot
    with pytest.raises(CorpusError, match=r"different corpora \('pets' and 'other'\)"):
        diff_snapshots(b, other)
    chars = run_count([tmp_path / "docs"], out, name="pets", boundary="line", tokens="char").snapshot
    with pytest.raises(CorpusError, match="text configs differ \\(tokens word vs char\\)"):
        diff_snapshots(b, chars)


def seqpipe(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqpipe", *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_cli_compares_the_two_newest_by_default_and_refuses_bad_pairs(pair, tmp_path):
    a, b, out = pair
    run = seqpipe("diff", "pets", "--out", str(out), "--k", "2", "--json")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert Path(lines[-1]) == a.parent.parent / "diffs" / f"{a.name}..{b.name}"
    assert json.loads(lines[-2])["run_b"] == b.name
    assert "1-grams appeared:" in run.stdout and "zebra" in run.stdout and "gone.txt" in run.stdout
    same = seqpipe("diff", str(a), str(b), "--dest", str(tmp_path / "d"))
    assert same.returncode == 0 and (tmp_path / "d" / "diff.json").is_file()
    by_id = seqpipe("diff", str(out / "corpus" / "pets"), a.name, b.name)
    assert by_id.returncode == 0 and by_id.stdout.splitlines()[-1] == lines[-1]

    single = run_count([tmp_path / "docs"], out, name="solo").snapshot
    chars = run_count([tmp_path / "docs"], out, name="pets", boundary="line", tokens="char").snapshot
    cases = [(("diff", str(b), str(single)), "different corpora"),
             (("diff", str(b), str(chars)), "text configs differ"),
             (("diff", "solo", "--out", str(out)), "1 published snapshot"),
             (("diff", "pets", a.name, "nope", "--out", str(out)), "no such snapshot"),
             (("diff", "pets", a.name, "--out", str(out)), "give two snapshot folders")]
    for args, message in cases:
        bad = seqpipe(*args)
        assert bad.returncode == 2 and bad.stdout == "", (args, bad.stdout)
        assert bad.stderr.count("\n") == 1 and message in bad.stderr, (args, bad.stderr)


def test_a_symlinked_diffs_folder_leading_outside_is_refused(pair, tmp_path):
    a, b, _ = pair
    outside = tmp_path / "outside"
    outside.mkdir()
    (a.parent.parent / "diffs").symlink_to(outside)
    with pytest.raises(CorpusError, match="outside the output root"):
        write_diff(diff_snapshots(a, b))
    assert not any(outside.iterdir())


def test_a_damaged_snapshot_is_a_one_line_error(pair):
    a, b, _ = pair
    part = next((b / "ngrams" / "n=2").glob("*.parquet"))
    part.write_bytes(part.read_bytes()[:20])
    with pytest.raises(CorpusError, match=f"cannot compare {a.name} and {b.name}: .*parquet"):
        diff_snapshots(a, b)
