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


def oracle_lm_split(texts: list[str], normalize: str, unit: str, fractions: tuple[float, ...],
                    lm_boundary: str, order: int) -> tuple[dict[str, list[list[str]]], Counter]:
    """(token lines per split, k-gram Counter of the padded training sentences) for `stats --split`.

    Lines of all texts in order; cut at int(fraction * lines); markers in the text read as whitespace;
    empty lines dropped after the cut; `<s> ... </s>` per line ("line") or around the whole range ("flat").
    """
    lines = [normalize_line(line, normalize) for raw in texts if raw for line in oracle_lines(raw)]
    cut1 = int(fractions[0] * len(lines))
    cut2 = int((fractions[0] + (fractions[1] if len(fractions) > 1 else 0.0)) * len(lines))
    markers = {"<unk>", "<s>", "</s>"}
    splits: dict[str, list[list[str]]] = {}
    for name, part in (("train", lines[:cut1]), ("valid", lines[cut1:cut2]), ("test", lines[cut2:])):
        toks = [[t for t in tokenize_line(line, unit) if t not in markers] for line in part]
        splits[name] = [t for t in toks if t]
    if lm_boundary == "flat":
        sentences = [["<s>", *(t for line in splits["train"] for t in line), "</s>"]]
    else:
        sentences = [["<s>", *line, "</s>"] for line in splits["train"]]
    grams: Counter = Counter()
    for s in sentences:
        for i in range(len(s) - order + 1):
            grams[tuple(s[i : i + order])] += 1
    return splits, grams
