"""Dumb, obviously-correct reference implementations the optimized code is tested against."""

from __future__ import annotations

import re
from collections import Counter

from seqpipe.text.normalize import normalize_line
from seqpipe.text.tokenize import tokenize_line


def oracle_lines(raw: str) -> list[str]:
    """Universal-newline lines of a decoded text."""
    return re.split(r"\r\n|\r|\n", raw)[:-1] if raw.endswith(("\n", "\r")) else re.split(r"\r\n|\r|\n", raw)


def oracle_counts(
    texts: list[str], normalize: str, unit: str, boundary: str, order: int
) -> tuple[Counter, Counter]:
    """(match_count, doc_count) Counters of n-gram tuples; a document is one text, owned by the first token."""
    streams: list[list[tuple[str, int]]] = []
    flat: list[tuple[str, int]] = []
    for doc, raw in enumerate(texts):
        doc_tokens: list[tuple[str, int]] = []
        for line in oracle_lines(raw) if raw else []:
            toks = [(t, doc) for t in tokenize_line(normalize_line(line, normalize), unit)]
            if boundary == "line":
                streams.append(toks)
            doc_tokens.extend(toks)
        if boundary == "document":
            streams.append(doc_tokens)
        flat.extend(doc_tokens)
    if boundary == "flat":
        streams = [flat]
    match: Counter = Counter()
    docs: dict[tuple[str, ...], set[int]] = {}
    for stream in streams:
        for i in range(len(stream) - order + 1):
            gram = tuple(t for t, _ in stream[i : i + order])
            match[gram] += 1
            docs.setdefault(gram, set()).add(stream[i][1])
    return match, Counter({g: len(d) for g, d in docs.items()})
