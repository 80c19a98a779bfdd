"""Bad input: each case is a clear one-line error or a counted, reported skip; never a traceback, never a
silent loss. (Encodings, BOMs, CR/CRLF, binary files, truncated .gz, empty files and corpora and symlink
loops are covered in tests/unit/corpus.)"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from oracles import oracle_counts
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.cli import main
from seqpipe.corpus import CorpusError, load_lines
from seqpipe.corpus.reader import _KeptLines
from seqpipe.ngrams import dask_count, store

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]


def count(sources, out: Path, max_line_bytes: int, **kw):
    """`run_count` with a corpus-level line limit."""
    from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
    from seqpipe.ngrams.dask_count import count_corpus
    from seqpipe.parallel import InlineClient

    text = TextConfig(**{k: kw.pop(k) for k in ("normalize", "tokens", "boundary") if k in kw})
    corpus = CorpusConfig(sources=tuple(map(str, sources)), name="c", max_line_bytes=max_line_bytes)
    return count_corpus(corpus, text, NgramConfig(**kw), out, InlineClient())


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `seqpipe ARGS` in this process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out, err = capsys.readouterr()
    return done.value.code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    assert err.startswith("seqpipe: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


# ---- over-long lines: skipped and counted in bounded memory ------------------------------------------

def _lines_oracle(data: bytes, limit: int) -> tuple[bytes, int, int]:
    kept, long_lines, long_bytes = [], 0, 0
    for line in re.findall(rb"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$", data):
        body = re.match(rb"[^\r\n]*", line).group(0)
        if len(body) > limit:
            long_lines, long_bytes = long_lines + 1, long_bytes + len(body)
        else:
            kept.append(line)
    return b"".join(kept), long_lines, long_bytes


@pytest.mark.timeout(60)
def test_line_filter_equals_a_line_by_line_oracle_for_any_chunking():
    rng = random.Random(7)
    for _ in range(3000):
        data = bytes(rng.choice(b"ab\r\n\n xy") for _ in range(rng.randint(0, 80)))
        limit = rng.randint(1, 15)
        chunk = rng.randint(1, limit)  # read_text never reads chunks larger than the limit
        kept = _KeptLines(limit)
        for i in range(0, len(data), chunk):
            kept.feed(data[i : i + chunk])
        got = (kept.result(), kept.long_lines, kept.long_line_bytes)
        assert got == _lines_oracle(data, limit), (data, limit, chunk)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("boundary", ["flat", "line", "document"])
def test_over_long_lines_are_skipped_counted_and_reported(tmp_path, capsys, boundary):
    long_a = "spam " * 60  # 300 bytes, longer than the 100-byte limit
    long_b = "eggs " * 40
    docs = {
        "a.txt": f"the cat sat\r\n{long_a}\r\non the mat\r\n",
        "b.txt": f"one two three\n{long_b}",  # the over-long line is the last, without a line end
        "c.txt": "short\rlines\rwith cr\r" + "x" * 101 + "\rend\r",
    }
    folder = tmp_path / "in"
    folder.mkdir()
    for name, text in docs.items():
        (folder / name).write_bytes(text.encode())
    kept = [re.sub(r"[^\r\n]{101,}(\r\n|\r|\n)?", "", text) for text in docs.values()]
    for blocksize in (7, 64, 4096):  # over-long lines cut across several partitions count once
        result = count([folder], tmp_path / f"out-{blocksize}", 100, normalize="unicode", tokens="word",
                       boundary=boundary, blocksize=blocksize)
        assert store.read_manifest(result.snapshot)["summary"]["long_lines"] == 3
        for n in (1, 2, 3):
            want = oracle_counts(kept, "unicode", "word", boundary, n)
            assert snapshot_counters(result.snapshot, n) == (+want[0], +want[1]), (blocksize, n)
    # the limit goes through the config: count again via the CLI with --max-line-bytes
    options = ["--out", str(tmp_path / "cli"), "--workers", "0", "--normalize", "unicode",
               "--boundary", boundary]
    code, out, err = cli(capsys, "stats", str(folder), *options, "--max-line-bytes", "100", "--json")
    assert code == 0, err
    summary = json.loads(out.splitlines()[-2])
    assert summary["long_lines"] == 3
    manifest = store.read_manifest(Path(out.splitlines()[-1]))
    per_file = {Path(i["uri"]).name: (i["long_lines"], i["long_line_bytes"]) for i in manifest["inputs"]}
    assert per_file == {"a.txt": (1, 300), "b.txt": (1, 200), "c.txt": (1, 101)}
    assert f"skipped 1 line(s) longer than --max-line-bytes 100 (300 bytes) in {folder / 'a.txt'}\n" in err
    # a larger limit is another config: counted again, nothing skipped
    code, out, err = cli(capsys, "stats", str(folder), *options, "--max-line-bytes", "1KiB", "--json")
    assert code == 0 and json.loads(out.splitlines()[-2])["long_lines"] == 0
    with pytest.raises(CorpusError, match=r"a\.txt: 1 line\(s\) longer than max_line_bytes=100"):
        load_lines([str(folder / "a.txt")], max_line_bytes=100)  # the in-memory reader refuses, never drops


REPORT_PEAK = r"""
import atexit, sys
from pathlib import Path


def report():  # VmHWM: this program's own peak RSS (getrusage would include the parent's at fork)
    status = Path("/proc/self/status").read_text().splitlines()
    Path(sys.argv[1]).write_text(next(x for x in status if x.startswith("VmHWM:")).split()[1])


atexit.register(report)
from seqpipe.cli import main

main(sys.argv[2:])
"""


@pytest.mark.timeout(120)
def test_a_200_mb_line_without_newline_is_skipped_in_bounded_memory(tmp_path):
    small, big = tmp_path / "small.txt", tmp_path / "big.txt"
    small.write_bytes(b"first normal line here\nlast normal line\n")
    with open(big, "wb") as fh:
        fh.write(b"first normal line here\n")
        fh.writelines(b"word " * (2**20 // 5) + b"word" for _ in range(200))  # ~200 MiB of one line
        fh.write(b"\nlast normal line\n")

    def measured(path: Path) -> tuple[float, dict, str]:
        """Run `seqpipe stats` in a child that reports its own peak RSS (VmHWM) as it exits."""
        peak = tmp_path / "peak"
        run = subprocess.run([sys.executable, "-c", REPORT_PEAK, str(peak), "stats", str(path), "--out",
                              str(tmp_path / "out"), "--workers", "0", "--json"],
                             cwd=ROOT, capture_output=True, text=True, timeout=100)
        assert run.returncode == 0, run.stderr
        return int(peak.read_text()) / 1024, json.loads(run.stdout.splitlines()[-2]), run.stderr

    base_mib, base, _ = measured(small)
    big_mib, summary, err = measured(big)
    assert big.stat().st_size > 200 * 2**20
    assert summary["totals"] == base["totals"]  # the other lines are all counted
    assert summary["long_lines"] == 1
    assert "skipped 1 line(s) longer than --max-line-bytes 67,108,864 (" in err
    # holding the line takes >= 200 MiB of bytes plus its decoded text; the reader needs about the limit
    assert big_mib - base_mib < 160, (base_mib, big_mib)


# ---- NUL bytes -------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_nul_bytes_separate_words_or_stay_in_raw_tokens_never_lost(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    head = "clean text " * 1000  # 11 KB: past the 8,000 bytes that sniffing looks at (as git)
    (folder / "late-nuls.txt").write_bytes(head.encode() + b"left\x00right\x00\x00\x00\x00 end\n")
    (folder / "also-late.txt").write_bytes(head.encode() + b"alpha\x00beta\n")
    d2l = run_count([folder], tmp_path / "d2l", name="n")
    uni = snapshot_counters(d2l.snapshot, 1)[0]
    assert uni[("left",)] == uni[("right",)] == uni[("alpha",)] == uni[("beta",)] == 1
    assert d2l.skipped == []
    raw = run_count([folder], tmp_path / "raw", name="n", normalize="raw", tokens="word", blocksize=64)
    raw_uni = snapshot_counters(raw.snapshot, 1)[0]
    assert raw_uni[("left\x00right\x00\x00\x00\x00",)] == 1 and raw_uni[("alpha\x00beta",)] == 1
    # a refresh reuses the cached counts of the unchanged file: NULs survive the cache too
    (folder / "more.txt").write_text("more words\n")
    again = run_count([folder], tmp_path / "raw", name="n", normalize="raw", tokens="word", blocksize=64)
    assert again.reused_partitions >= 1
    assert snapshot_counters(again.snapshot, 1)[0][("alpha\x00beta",)] == 1
    assert snapshot_counters(again.snapshot, 2)[0] == snapshot_counters(
        run_count([folder], tmp_path / "fresh", name="n", normalize="raw", tokens="word").snapshot, 2)[0]
    # one NUL in the first 8,000 bytes is binary (git's rule), and so is a head of mostly invalid UTF-8:
    # both are counted and reported skips, in the manifest and as one stderr line each
    (folder / "early-nul.txt").write_bytes(b"alpha\x00beta " + b"gamma " * 50 + b"\n")
    (folder / "noise.txt").write_bytes(bytes(random.Random(0).randrange(128, 256) for _ in range(4000)))
    code, out, err = cli(capsys, "stats", str(folder), "--out", str(tmp_path / "cli"), "--workers", "0", "--json")
    assert code == 0, err
    manifest = store.read_manifest(Path(out.splitlines()[-1]))
    reasons = {Path(i["uri"]).name: i["skipped"] for i in manifest["inputs"] if i["skipped"]}
    assert reasons["early-nul.txt"] == "binary (NUL byte at offset 5 of the first 312)"
    assert re.fullmatch(r"binary \(\d,\d{3} of the first 4,000 bytes are not UTF-8\)", reasons["noise.txt"])
    assert set(reasons) == {"early-nul.txt", "noise.txt"} and manifest["summary"]["files_skipped"] == 2
    for name, reason in reasons.items():
        assert err.count(f"skipped {folder / name}: {reason}\n") == 1, err
    assert snapshot_counters(Path(out.splitlines()[-1]), 1)[0][("gamma",)] == 0  # nothing of it counted


# ---- files that cannot be read, or disappear ----------------------------------------------------------

@pytest.mark.timeout(90)
def test_permission_denied_file_is_a_reported_skip(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "open.txt").write_text("open words here\n")
    (folder / "locked.txt").write_text("secret words\n")
    os.chmod(folder / "locked.txt", 0)

    def stats(source: Path) -> subprocess.CompletedProcess:
        cmd = [sys.executable, "-m", "seqpipe", "stats", str(source), "--out", str(tmp_path / "out"),
               "--workers", "0", "--json"]
        if os.geteuid() == 0:  # root reads anything: drop the capability that lets it, keep the uid
            assert shutil.which("setpriv"), "setpriv (util-linux) is needed to deny root a read"
            drop = "-dac_override,-dac_read_search"
            cmd = ["setpriv", f"--inh-caps={drop}", f"--bounding-set={drop}", *cmd]
        return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=80)

    run = stats(folder)
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.splitlines()[-2])
    assert [Path(s["uri"]).name for s in summary["skipped"]] == ["locked.txt"]
    assert "PermissionError" in summary["skipped"][0]["reason"]
    assert summary["totals"]["1"]["ngrams"] == 3
    skipped_line = next(line for line in run.stderr.splitlines() if line.startswith("skipped"))
    assert "locked.txt: unreadable (PermissionError" in skipped_line and "Traceback" not in run.stderr

    run = stats(folder / "locked.txt")
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr
    assert "the corpus holds no readable text" in run.stderr and "PermissionError" in run.stderr


@pytest.mark.timeout(60)
def test_file_vanishing_mid_run_is_one_line_error_and_keeps_latest(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("first file words\n")
    (folder / "b.txt").write_text("second file words\n")
    out = tmp_path / "out"
    previous = run_count([folder], out, name="v")
    (folder / "a.txt").write_text("first file, changed\n")
    real_plan = dask_count.plan_partitions

    def plan_then_delete(files, infos, blocksize):  # between inspecting and reading
        os.unlink(folder / "b.txt")
        return real_plan(files, infos, blocksize)

    monkeypatch.setattr(dask_count, "plan_partitions", plan_then_delete)
    code, _, err = cli(capsys, "stats", str(folder), "--out", str(out), "--name", "v", "--workers", "0")
    assert_one_line_error(code, err, f"{folder / 'b.txt'}: cannot be read (FileNotFoundError")
    assert store.latest_snapshot(out, "v") == previous.snapshot
    assert [p.name for p in (out / "corpus" / "v" / "snapshots").iterdir()] == [previous.run_id]

    # gone between sniffing and hashing: skipped and reported like any unreadable file
    monkeypatch.setattr(dask_count, "plan_partitions", real_plan)
    (folder / "b.txt").write_text("second file words\n")
    real_sniff = dask_count.sniff

    def sniff_then_delete(f, *args):
        info = real_sniff(f, *args)
        if f.uri.endswith("b.txt"):
            os.unlink(f.uri)
        return info

    monkeypatch.setattr(dask_count, "sniff", sniff_then_delete)
    result = run_count([folder], out, name="v")
    assert [(Path(s["uri"]).name, s["reason"].split(":")[0]) for s in result.skipped] == [
        ("b.txt", "unreadable (FileNotFoundError")]
    assert result.totals[1]["ngrams"] == 3


# ---- Unicode -------------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
def test_unicode_edge_cases_follow_the_documented_normalization(tmp_path):
    lines = [
        "caf\u00e9 au lait",  # NFC é
        "cafe\u0301 noir",  # NFD e + combining acute
        "no\u00a0break x\u202fy",  # NBSP, narrow NBSP
        "left\u2028right",  # LINE SEPARATOR: not a line end, a space
        "p\u2029q next\u0085line",  # PARAGRAPH SEPARATOR and NEL: not line ends either
        "a\u200db abc\u200fdef x\u200ey",  # ZWJ stays in its word; RLM and LRM are dropped
        "\uff34\uff28\uff25 \ufb01ne",  # full-width letters, the fi ligature: NFKC
    ]
    path = tmp_path / "u.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    uni = run_count([path], tmp_path / "uni", name="u", normalize="unicode", boundary="line")
    manifest = store.read_manifest(uni.snapshot)
    assert manifest["summary"]["lines"] == len(lines)  # only LF, CR and CRLF end lines
    words = snapshot_counters(uni.snapshot, 1)[0]
    bigrams = snapshot_counters(uni.snapshot, 2)[0]
    assert words[("café",)] == 2 and ("cafe",) not in words  # NFC and NFD: one token
    assert bigrams[("no", "break")] == 1 and bigrams[("break", "x")] == 1  # NBSP separates words
    assert bigrams[("left", "right")] == 1 and bigrams[("p", "q")] == 1  # U+2028/9 do not end lines
    assert bigrams[("next", "line")] == 1
    assert words[("a\u200db",)] == words[("abcdef",)] == words[("xy",)] == 1  # no word split by format chars
    assert bigrams[("x", "y")] == 1  # only the narrow NBSP separates them
    assert words[("the",)] == 1 and words[("fine",)] == 1
    # d2l is the book's ASCII-only cleaning on the text as stored: NFD keeps the base letter, NFC drops it
    d2l = snapshot_counters(run_count([path], tmp_path / "d2l", name="u", normalize="d2l").snapshot, 1)[0]
    assert d2l[("caf",)] == 1 and d2l[("cafe",)] == 1
    # raw keeps every code point: NFC and NFD differ, ZWJ stays inside its word
    raw = snapshot_counters(run_count([path], tmp_path / "raw", name="u", normalize="raw").snapshot, 1)[0]
    assert raw[("caf\u00e9",)] == 1 and raw[("cafe\u0301",)] == 1 and raw[("a\u200db",)] == 1


# ---- parameters ---------------------------------------------------------------------------------------

@pytest.mark.timeout(60)
@pytest.mark.parametrize("args, message", [
    (["--orders", "-1"], "each order must be between 1 and 5"),
    (["--orders", "1,x"], "expected a comma-separated list of integers"),
    (["--orders", ","], "expected at least one integer"),
    (["--blocksize", "0"], "size '0'"),
    (["--blocksize", "-5MiB"], "size '-5MiB'"),
    (["--max-line-bytes", "0"], "size '0'"),
    (["--workers", "-1"], "workers: Input should be greater than or equal to 0"),
    (["--min-freq", "-1"], "min_freq: Input should be greater than or equal to 0"),
    (["--memory-limit", "lots"], "memory_limit: size 'lots'"),
    (["--normalize", "nfc"], "'--normalize': Value error, 'nfc' is not one of"),
    (["--tokens", "byte"], "'--tokens': Value error, 'byte' is not one of"),
    (["--name", "../escape"], "corpus name '../escape'"),
])
def test_parameters_out_of_range_are_one_line_errors(tmp_path, capsys, shared_data, args, message):
    code, out, err = cli(capsys, "stats", str(shared_data / "timemachine.txt"), "--out", str(tmp_path), *args)
    assert_one_line_error(code, err, message)
    assert out == "" and not any(tmp_path.iterdir())  # refused before anything was written
