"""Line normalization: the book's `d2l` cleaning, a Unicode-aware mode for every script, and `raw`.

Line ends are normalized before this (universal newlines: CRLF and CR become LF); a BOM is removed
when the file is decoded. U+2028/U+2029 and other separators are not line ends: `unicode` mode turns
them into spaces, `d2l` mode drops them with every other non-ASCII-letter.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import numpy as np
import pyarrow as pa

Normalize = Literal["d2l", "unicode", "raw"]
NORMALIZE_MODES: tuple[str, ...] = ("d2l", "unicode", "raw")

_D2L_NON_LETTERS = re.compile(r"[^A-Za-z]+")
_SPACES = re.compile(r"\s+")


# Joiners shape words (Persian, Indic scripts, emoji sequences): they stay inside the word.
_JOINERS = {"\u200c", "\u200d"}


def _unicode_replacement(ch: str) -> str:
    """What `unicode` mode makes of a character: itself (letters, digits, marks, joiners), nothing
    (other invisible format characters such as LRM/RLM, soft hyphen, BOM), or a space (the rest)."""
    category = unicodedata.category(ch)
    if category[0] in "LNM" or ch in _JOINERS:
        return ch
    return "" if category == "Cf" else " "


# Build the translation lazily per character: str.translate with a dict subclass caches lookups,
# so each distinct character is classified once per process.
class _DropNonWord(dict):
    def __missing__(self, codepoint: int) -> str:
        value = _unicode_replacement(chr(codepoint))
        self[codepoint] = value
        return value


_DROP_NON_WORD = _DropNonWord()


def normalize_line(line: str, mode: Normalize) -> str:
    """Normalize one line of text (no line terminator).

    >>> normalize_line("The Time Machine, by H. G. Wells [1898]", "d2l")
    'the time machine by h g wells'
    >>> normalize_line("Ｔｈｅ　ＴＩＭＥ—機器！", "unicode")
    'the time 機器'
    """
    if mode == "d2l":
        return _D2L_NON_LETTERS.sub(" ", line).strip().lower()
    if mode == "unicode":
        text = unicodedata.normalize("NFKC", line).casefold()
        text = text.translate(_DROP_NON_WORD)
        return _SPACES.sub(" ", text).strip()
    if mode == "raw":
        return line
    raise ValueError(f"unknown normalization {mode!r}; choose one of {', '.join(NORMALIZE_MODES)}")


# d2l cleaning keeps only ASCII letters, so it can run on UTF-8 bytes: every byte of a multi-byte
# character is >= 0x80 and becomes a space, exactly as the character would. 5x faster than the regex.
_D2L_BYTES = bytes(
    (b + 32 if 65 <= b <= 90 else b) if (65 <= b <= 90 or 97 <= b <= 122) else 32 for b in range(256)
)


_D2L_BYTES_KEEP_LF = _D2L_BYTES[:10] + b"\n" + _D2L_BYTES[11:]
_LOWER_ASCII = bytes(b + 32 if 65 <= b <= 90 else b for b in range(256))
_NOT_ASCII_LETTERS = bytes(b for b in range(256) if not (65 <= b <= 90 or 97 <= b <= 122))


def d2l_word_ids(lines: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`d2l` word tokens of some lines as (int32 ids, distinct words in first-occurrence order, tokens per line).

    >>> ids, words, per_line = d2l_word_ids(["The time—machine, the", "", "TIME 1898"])
    >>> ids.tolist(), words.tolist(), per_line.tolist()
    ([0, 1, 2, 0, 1], ['the', 'time', 'machine'], [4, 0, 1])
    """
    return d2l_block_ids("\n".join(lines).encode("utf-8", "surrogatepass"), len(lines))


def d2l_block_ids(data: bytes, lines: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`d2l_word_ids` of a block of UTF-8 bytes holding `lines` lines separated (or ended) by b"\\n".

    No Python object per token or line: the cleaned bytes give word starts and ends through a vectorized
    letter mask, the letters (bytes.translate deleting the rest) make one Arrow binary array and dictionary-encoded by Arrow's hash
    table (its dictionary keeps first-occurrence order, as `pandas.factorize` of the word list would).
    Invalid UTF-8 bytes may stay in `data`: like every byte >= 0x80 they clean to a space.

    >>> ids, words, per_line = d2l_block_ids(b"a b\\n\\nB c\\n", 3)
    >>> ids.tolist(), words.tolist(), per_line.tolist()
    ([0, 1, 1, 2], ['a', 'b', 'c'], [2, 0, 2])
    """
    b = np.frombuffer(data.translate(_D2L_BYTES_KEEP_LF), np.uint8)
    letter = b > 32  # after cleaning only a-z, space and LF remain
    starts = letter.copy()
    starts[1:] &= ~letter[:-1]
    start_at = np.flatnonzero(starts)
    # tokens per line from where each line ends among the word starts: one query per line, not per word
    line_ends = np.append(np.flatnonzero(b == 10)[: max(lines - 1, 0)], len(b))[:lines]
    per_line = np.diff(np.searchsorted(start_at, line_ends), prepend=0).astype(np.int64)
    if start_at.size == 0:
        return np.empty(0, np.int32), np.empty(0, dtype=object), per_line
    ends = letter.copy()  # last letter of each word
    ends[:-1] &= ~letter[1:]
    offsets = np.zeros(start_at.size + 1, np.int64)
    np.cumsum(np.flatnonzero(ends) - start_at + 1, out=offsets[1:])
    compact = data.translate(_LOWER_ASCII, _NOT_ASCII_LETTERS)  # the letters alone, one C pass
    words = pa.LargeBinaryArray.from_buffers(pa.large_binary(), start_at.size,
                                             [None, pa.py_buffer(offsets), pa.py_buffer(compact)])
    encoded = words.dictionary_encode()
    uniques = np.array(encoded.dictionary.cast(pa.large_string()).to_pylist(), dtype=object)
    return encoded.indices.to_numpy().astype(np.int32, copy=False), uniques, per_line
