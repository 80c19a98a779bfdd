"""ARPA export of a back-off n-gram model (what KenLM, SRILM, Moses and ASR decoders read).

Layout: `\\data\\`, one `ngram K=count` line per order, then per order a `\\K-grams:` section of rows
`log10(p) TAB w1 ... wK [TAB log10(backoff)]` (no back-off column at the highest order), and `\\end\\`.
`<s>` is listed with the placeholder log10 probability -99, as lmplz writes it: it is context only.
Rows are formatted column-wise with Arrow (float32, shortest round-trip text), so millions of n-grams
take seconds; the file is written atomically.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from reference_lm.lm import KneserNeyLM, NgramLM
from reference_lm.lm_counts import BOS_ID
from seqpipe.io import atomic_path

BOS_LOG10 = -99.0
_BLOCK = 1 << 20  # rows formatted at a time
_WHITESPACE = re.compile(r"\s")
_TAB, _NEWLINE, _SPACE, _EMPTY = (pa.scalar(s, pa.large_string()) for s in ("\t", "\n", " ", ""))


def _log10_text(values: np.ndarray) -> pa.Array:
    with np.errstate(divide="ignore"):
        logs = np.log10(values).astype(np.float32)
    return pc.cast(pa.array(logs), pa.large_string())


def _section(lines: pa.Array) -> pa.Buffer:
    """The bytes of a string array whose elements already end in a newline."""
    offsets = np.frombuffer(lines.buffers()[1], np.int64, count=len(lines) + 1, offset=8 * lines.offset)
    return lines.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def write_arpa(model: NgramLM, path: str | Path) -> Path:
    """Write a Kneser-Ney model as ARPA text (log10 probabilities and back-off weights)."""
    if not isinstance(model, KneserNeyLM):  # the user's choice of smoothing: a one-line error, not a bug
        raise ValueError(  # noqa: TRY004
            f"ARPA holds back-off models: estimate with --smoothing mkn (this model is {model.smoothing})"
        )
    tokens = model.vocab.idx_to_token
    bad = [t for t in tokens if _WHITESPACE.search(t)]
    if bad:
        raise ValueError(f"ARPA separates words by whitespace and the vocabulary holds {bad[0]!r}: use --tokens word")
    tables, size, order = model.counts.tables, len(tokens), model.order
    vocab_text = pa.array(tokens, pa.large_string())
    header = "\\data\\\n" + "".join(f"ngram {k}={len(t)}\n" for k, t in enumerate(tables, start=1))
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write(header.encode())
        text = vocab_text
        for k in range(1, order + 1):
            prob = model.prob[k - 1]
            if k == 1:
                prob = prob.copy()
                prob[BOS_ID] = 10.0**BOS_LOG10
            fh.write(f"\n\\{k}-grams:\n".encode())
            keep: list[pa.Array] = []
            for lo in range(0, len(tables[k - 1]), _BLOCK):
                hi = min(lo + _BLOCK, len(tables[k - 1]))
                if k == 1:
                    block = vocab_text.slice(lo, hi - lo)
                else:
                    ctx, word = np.divmod(tables[k - 1].keys[lo:hi], size)
                    block = pc.binary_join_element_wise(text.take(pa.array(ctx)), vocab_text.take(pa.array(word)), _SPACE)
                columns = [_log10_text(prob[lo:hi]), _TAB, block]
                if k < order:
                    columns += [_TAB, _log10_text(model.backoff[k - 1][lo:hi])]
                    keep.append(block)
                fh.write(_section(pc.binary_join_element_wise(*columns, _NEWLINE, _EMPTY)))
            if k < order:  # the next order spells its n-grams from these
                text = pa.concat_arrays(keep) if keep else pa.array([], pa.large_string())
        fh.write(b"\n\\end\\\n")
    return Path(path)


def read_arpa_counts(path: str | Path) -> dict[int, int]:
    """The `ngram K=count` figures of an ARPA file's header.

    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x.arpa")
    >>> _ = Path(p).write_text("\\\\data\\\\\\nngram 1=3\\nngram 2=4\\n\\n\\\\1-grams:\\n")
    >>> read_arpa_counts(p)
    {1: 3, 2: 4}
    """
    counts: dict[int, int] = {}
    with open(path, encoding="utf-8") as fh:
        if fh.readline().strip() != "\\data\\":
            raise ValueError(f"{path}: not an ARPA file (no \\data\\ header)")
        for line in fh:
            if not line.strip():
                break
            key, _, value = line.strip().partition("=")
            counts[int(key.split()[1])] = int(value)
    return counts
