"""The byte reader of the d2l fast path sees what the text reader sees: lines, bad bytes, d2l words."""

from __future__ import annotations

import codecs
import gzip
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.corpus.reader import read_text, read_utf8, sniff
from seqpipe.corpus.sources import expand_sources
from seqpipe.text.normalize import d2l_block_ids, normalize_line

# letters, spaces, every line end, an invalid byte, a lone continuation byte, a valid 2-byte character
PARTS = [b"ab", b"Cd", b" ", b"\n", b"\r", b"\r\n", b"\xff", b"\x80", "é".encode(), b"1"]
contents = st.tuples(
    st.sampled_from([b"", codecs.BOM_UTF8]),
    st.lists(st.sampled_from(PARTS), max_size=30).map(b"".join),
).map(b"".join)


@settings(max_examples=200, deadline=None)
@given(data=contents, compressed=st.booleans(), cut=st.integers(0, 40), long_limit=st.sampled_from([3, 1 << 20]))
def test_read_utf8_equals_read_text(data, compressed, cut, long_limit):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("t.txt.gz" if compressed else "t.txt")
        path.write_bytes(gzip.compress(data) if compressed else data)
        (f,) = expand_sources([str(path)])
        info = sniff(f, invalid_fraction=1.0)
        # a compressed file is read whole; a plain one in two ranges cut anywhere, as partitions are
        ranges = [(0, cut), (cut, None)] if not compressed and 0 < cut < len(data) else [(0, None)]
        for start, end in ranges:
            text = read_text(f, info, start, end, long_limit)
            raw = read_utf8(f, info, start, end, long_limit)
            assert raw.lines == len(text.lines)
            assert (raw.bad_bytes, raw.long_lines, raw.long_line_bytes) == \
                (text.bad_bytes, text.long_lines, text.long_line_bytes)
            ids, words, per_line = d2l_block_ids(raw.data, raw.lines)
            expected = [normalize_line(line, "d2l").split() for line in text.lines]
            assert words[ids].tolist() == [w for line in expected for w in line]
            assert per_line.tolist() == [len(line) for line in expected]
