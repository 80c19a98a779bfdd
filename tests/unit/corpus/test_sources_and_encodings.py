"""Corpus sources: paths, folders, globs, URLs, compression, encodings, bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
from pathlib import Path

import fsspec
import pytest
import zstandard
from unit.ngrams.helpers import run_count, snapshot_counters

from seqpipe.config import Settings
from seqpipe.corpus import CorpusError, expand_sources, load_lines
from seqpipe.corpus.fetch import resolve_named
from seqpipe.corpus.reader import read_range, sniff
from seqpipe.corpus.sources import corpus_name
from seqpipe.ngrams import store

TEXT = "Hello wörld\nsecond line 道\n\nlast"


def _variants(folder: Path) -> dict[str, Path]:
    raw = TEXT.encode("utf-8")
    files = {
        "plain.txt": raw,
        "bom.txt": b"\xef\xbb\xbf" + raw,
        "utf16le.txt": TEXT.encode("utf-16"),  # with BOM
        "utf16be.txt": b"\xfe\xff" + TEXT.encode("utf-16-be"),
        "utf32le.txt": TEXT.encode("utf-32"),  # with BOM; its NULs do not make it binary
        "utf32be.txt": b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be"),
        "crlf.txt": TEXT.replace("\n", "\r\n").encode(),
        "cr.txt": TEXT.replace("\n", "\r").encode(),
        "z.txt.gz": gzip.compress(raw),
        "z.txt.bz2": bz2.compress(raw),
        "z.txt.xz": lzma.compress(raw),
        "z.txt.zst": zstandard.ZstdCompressor().compress(raw),
    }
    out = {}
    for name, data in files.items():
        (folder / name).write_bytes(data)
        out[name] = folder / name
    return out


def test_every_encoding_and_compression_gives_identical_tokens(tmp_path):
    paths = _variants(tmp_path)
    expected = load_lines([str(paths["plain.txt"])], "unicode")
    assert expected == ["hello wörld", "second line 道", "", "last"]
    for name, path in paths.items():
        lines = load_lines([str(path)], "raw")
        assert not any("\ufeff" in x or "\r" in x for x in lines), name
        assert load_lines([str(path)], "unicode") == expected, name


def test_identical_counts_whatever_the_encoding(tmp_path):
    paths = _variants(tmp_path)
    reference = None
    for name, path in paths.items():
        result = run_count([path], tmp_path / "out" / name.replace(".", "_"), normalize="unicode", tokens="char",
                           blocksize=8)
        counts = snapshot_counters(result.snapshot, 2)[0]
        reference = reference or counts
        assert counts == reference, name


def test_invalid_bytes_are_replaced_and_counted_exactly(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok \xff\xfe line\nmore \xc3(\x80\x80\x80 end\n")
    result = run_count([path], tmp_path / "out", normalize="raw", tokens="word", blocksize=10)
    manifest = store.read_manifest(result.snapshot)
    assert manifest["inputs"][0]["bad_bytes"] == 6
    assert manifest["summary"]["bad_bytes"] == 6


def test_binary_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "a.txt").write_text("real text here\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (tmp_path / "blob.bin").write_bytes(b"abc " * 1999 + b"\x00" + b"xyz " * 10)  # one NUL at 7,996: binary (git)
    (tmp_path / "noise.dat").write_bytes(bytes(range(128, 256)) * 8 + b" ok\n")  # mostly not UTF-8
    (tmp_path / "empty.txt").write_bytes(b"")
    result = run_count([tmp_path], tmp_path / "out", normalize="raw")
    reasons = {Path(s["uri"]).name: s["reason"] for s in result.skipped}
    assert set(reasons) == {"image.png", "blob.bin", "noise.dat", "empty.txt"}
    assert "PNG" in reasons["image.png"] and reasons["empty.txt"] == "empty file"
    assert reasons["blob.bin"] == "binary (NUL byte at offset 7,996 of the first 8,000)"
    assert reasons["noise.dat"] == "binary (1,024 of the first 1,028 bytes are not UTF-8)"
    assert result.totals[1]["ngrams"] == 3
    manifest = store.read_manifest(result.snapshot)
    assert {Path(i["uri"]).name: i["skipped"] for i in manifest["inputs"]}["noise.dat"] == reasons["noise.dat"]


def test_what_git_calls_text_is_read(tmp_path):
    late = tmp_path / "late.txt"
    late.write_bytes(b"abc " * 2000 + b"d\x00e\n")  # the NUL is byte 8,001: past git's 8,000
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("café crème brûlée, à la carte\n".encode("latin-1") * 20)  # a few invalid bytes
    (f_late,), (f_latin,) = expand_sources([str(late)]), expand_sources([str(latin)])
    assert sniff(f_late).skip_reason is None and sniff(f_latin).skip_reason is None
    assert sniff(f_latin, invalid_fraction=0.2).skip_reason is None  # 100 of 600 bytes are invalid
    assert sniff(f_latin, invalid_fraction=0.1).skip_reason == "binary (100 of the first 600 bytes are not UTF-8)"
    result = run_count([late, latin], tmp_path / "out", normalize="raw")
    assert result.skipped == []


def test_missing_path_and_empty_corpus_fail_before_work(tmp_path):
    with pytest.raises(CorpusError, match="no such file"):
        run_count([tmp_path / "nope.txt"], tmp_path / "out")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "empty.txt").write_bytes(b"")
    with pytest.raises(CorpusError, match="no readable text"):
        run_count([tmp_path / "e"], tmp_path / "out")
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "punct.txt").write_text("... !!! 123\n")
    with pytest.raises(CorpusError, match="no tokens"):
        run_count([tmp_path / "p"], tmp_path / "out", normalize="d2l")
    assert not list((tmp_path / "out").rglob("*.parquet"))


def test_truncated_gzip_is_one_clear_error(tmp_path):
    words = " ".join(f"w{i * 7919 % 10007}" for i in range(40_000)).encode()
    data = gzip.compress(words)
    (tmp_path / "cut.txt.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorpusError, match=r"cut\.txt\.gz: cannot be read \(EOFError"):
        run_count([tmp_path / "cut.txt.gz"], tmp_path / "out")
    # cut so short that not even its head decompresses: skipped as unreadable, with the reason
    (tmp_path / "short.txt.gz").write_bytes(data[:40])
    (tmp_path / "fine.txt").write_text("fine words\n")
    result = run_count([tmp_path / "short.txt.gz", tmp_path / "fine.txt"], tmp_path / "out2")
    assert "unreadable (EOFError" in result.skipped[0]["reason"]


def test_folders_globs_urls_and_symlink_loops(tmp_path):
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "b.txt").write_text("b\n")
    (tmp_path / "d" / "sub" / "a.txt").write_text("a\n")
    (tmp_path / "d" / "sub" / "loop").symlink_to(tmp_path / "d", target_is_directory=True)
    names = [Path(f.uri).name for f in expand_sources([str(tmp_path / "d")])]
    assert names == ["b.txt", "a.txt"]
    assert [Path(f.uri).name for f in expand_sources([str(tmp_path / "d" / "**" / "*.txt")])] == ["b.txt", "a.txt"]
    assert len(expand_sources([f"file://{tmp_path}/d/b.txt"])) == 1
    with fsspec.open("memory://corpus/m.txt", "w") as fh:
        fh.write("from memory\n")
    mem = expand_sources(["memory://corpus/*.txt"])
    assert [f.uri.replace(":///", "://") for f in mem] == ["memory://corpus/m.txt"]
    assert load_lines(["memory://corpus/m.txt"]) == ["from memory"]
    with pytest.raises(CorpusError, match="matches no files"):
        expand_sources([str(tmp_path / "*.nothing")])


def test_block_ranges_cover_every_line_once(tmp_path):
    path = tmp_path / "lines.txt"
    lines = [f"line {i} " + "x" * (i % 7) for i in range(200)]
    path.write_text("\n".join(lines) + "\n")
    (f,) = expand_sources([str(path)])
    info = sniff(f)
    for block in (1, 5, 13, 100, 10_000):
        got = []
        for start in range(0, f.size, block):
            got += read_range(f, info, start, start + block if start + block < f.size else None)[0]
        assert got == lines, block


def test_named_corpus_lookup_and_checksum(tmp_path, shared_data):
    assert resolve_named("timemachine", Settings(data_dir=shared_data)).name == "timemachine.txt"
    bad = tmp_path / "data"
    bad.mkdir()
    (bad / "timemachine.txt").write_text("not the book\n")
    with pytest.raises(CorpusError, match="does not match"):
        resolve_named("timemachine", Settings(data_dir=bad, cache_dir=tmp_path / "cache"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CorpusError, match="downloads are off"):
        resolve_named("timemachine", Settings(data_dir=empty, cache_dir=tmp_path / "cache", offline=True))
    with pytest.raises(CorpusError, match="no download URL"):
        resolve_named("sunspots", Settings(data_dir=empty, cache_dir=tmp_path / "cache"))
    cache = tmp_path / "cache2"
    cache.mkdir()
    os.symlink(shared_data / "timemachine.txt", cache / "timemachine.txt")
    assert resolve_named("timemachine", Settings(data_dir=empty, cache_dir=cache, offline=True)).parent == cache


def test_corpus_names():
    assert corpus_name(["data/books/*.txt"]) == "books"
    assert corpus_name(["/x/shard-00.txt.gz"]) == "shard-00"
    assert corpus_name(["xiyouji"]) == "xiyouji"
