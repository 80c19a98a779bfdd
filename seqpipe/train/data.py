"""Token ids for language-model training: corpus -> lines -> train / valid / test token ranges -> ids.

Decisions, so neural and n-gram perplexities can be compared and nothing leaks:

- Split first, tokenize second. `split_by="lines"` cuts the normalized lines with `split_lines` (the
  split the n-gram LMs use; empty lines dropped after the cut); `split_by="tokens"` tokenizes the whole
  text and cuts the token stream at int(fraction * n) (nanoGPT's split of tiny shakespeare).
- Lines are joined as the book's `load_corpus_time_machine` does: with nothing in between (`d2l`,
  `unicode`), so 'him' + 'was' reads 'himwas'. For `raw` text every line ends with a '\\n' token, so
  `"\\n".join(lines) + "\\n"` char-tokenized is the file itself (nanoGPT). `line_sep` overrides this.
- The vocabulary comes from the whole training range (before `max_tokens`), or from a snapshot's
  `vocab.parquet`. Valid / test tokens outside it read as `<unk>` (id 0) and are counted as OOV.
- `valid_from="start"` puts the validation range first (valid | train | test) so that training runs right
  up to the test: on tiny shakespeare the test continues a play (The Taming of the Shrew) whose opening
  lies just before it, and a 2 x 512 LSTM that never read that opening (valid at the end) scored the test
  1.537 nats/char against 1.405.
- `max_tokens` keeps the first N training tokens: the book's `max_tokens=10000` with `split="none"`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from seqpipe.corpus import load_lines
from seqpipe.text.split import parse_fractions, split_lines
from seqpipe.text.tokenize import tokenize_line
from seqpipe.text.vocab import Vocab
from seqpipe.train.config import LMDataConfig


@dataclass(frozen=True)
class LMCorpus:
    """A vocabulary and three contiguous ranges of token ids (int64)."""

    vocab: Vocab
    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray

    def sizes(self) -> dict[str, int]:
        """Token counts per range."""
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}

    def oov(self) -> dict[str, int]:
        """`<unk>` tokens per range."""
        return {k: int((getattr(self, k) == 0).sum()) for k in ("train", "valid", "test")}


def line_tokens(lines: list[str], unit: str, separator: str) -> list[str]:
    """Tokens of lines in order, each line (empty ones too) followed by `separator` if one is given.

    >>> line_tokens(["ab", "c"], "char", ""), line_tokens(["ab", "c"], "char", "\\n")
    (['a', 'b', 'c'], ['a', 'b', '\\n', 'c', '\\n'])
    """
    out: list[str] = []
    for line in lines:
        out.extend(tokenize_line(line, unit))  # type: ignore[arg-type]
        if separator:
            out.append(separator)
    return out


def split_tokens(cfg: LMDataConfig, lines: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Train / valid / test token lists of normalized lines, as `cfg` says.

    With `valid_from="start"` the validation range (the same size) comes first: valid | train | test.
    """
    unit, sep, first = cfg.tokens, cfg.separator, cfg.valid_from == "start"
    if cfg.split is None:
        return line_tokens(lines, unit, sep), [], []
    if cfg.split_by == "lines":
        parts = split_lines(lines, cfg.split)
        train, valid = parts.train, parts.valid
        if first:
            ahead = train + valid
            train, valid = ahead[len(valid) :], ahead[: len(valid)]
        return line_tokens(train, unit, sep), line_tokens(valid, unit, sep), line_tokens(parts.test, unit, sep)
    tokens = line_tokens(lines, unit, sep)
    fractions = parse_fractions(cfg.split)
    n = len(tokens)
    cut_train = int(fractions[0] * n)
    cut_valid = int((fractions[0] + (fractions[1] if len(fractions) > 1 else 0.0)) * n)
    if first:
        cut_valid_start = cut_valid - cut_train
        return tokens[cut_valid_start:cut_valid], tokens[:cut_valid_start], tokens[cut_valid:]
    return tokens[:cut_train], tokens[cut_train:cut_valid], tokens[cut_valid:]


def build_corpus(cfg: LMDataConfig, lines: list[str] | None = None) -> LMCorpus:
    """Load, normalize, split, tokenize and encode a corpus (`lines` given: already normalized)."""
    if lines is None:
        lines = load_lines(list(cfg.sources), cfg.normalize)
    train, valid, test = split_tokens(cfg, lines)
    if not train:
        raise ValueError(f"{', '.join(cfg.sources)}: the training range holds no tokens (split {cfg.split})")
    vocab = Vocab.load(cfg.vocab_path) if cfg.vocab_path else Vocab.from_tokens(train, cfg.min_freq)
    if cfg.max_vocab is not None and len(vocab) > cfg.max_vocab:  # keep the most frequent
        vocab = Vocab(vocab.idx_to_token[: cfg.max_vocab], vocab.counts[: cfg.max_vocab])
    if cfg.max_tokens is not None:
        train = train[: cfg.max_tokens]

    def ids(tokens: list[str]) -> np.ndarray:
        return np.asarray(vocab.encode(tokens), dtype=np.int64)

    return LMCorpus(vocab, ids(train), ids(valid), ids(test))
