"""The book's vocabulary: `<unk>` first, reserved tokens, then tokens by frequency (ties by first occurrence)."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

UNK = "<unk>"
VOCAB_SCHEMA = pa.schema(
    [("token", pa.string()), ("id", pa.int32()), ("match_count", pa.int64())],
    metadata={"seqpipe.table": "vocab"},
)


class Vocab:
    """Token <-> id mapping as in d2l 2.0 (`<unk>` = 0, frequency order, stable ties, `min_freq` cut).

    >>> v = Vocab.from_tokens("b a b c".split())
    >>> v.idx_to_token, v["b"], v["zzz"]
    (['<unk>', 'b', 'a', 'c'], 1, 0)
    """

    def __init__(self, idx_to_token: Sequence[str], counts: Sequence[int]):
        if not idx_to_token or idx_to_token[0] != UNK:
            raise ValueError("a vocabulary starts with '<unk>' at id 0")
        self.idx_to_token = list(idx_to_token)
        self.counts = [int(c) for c in counts]
        self.token_to_idx = {tok: i for i, tok in enumerate(self.idx_to_token)}
        if len(self.token_to_idx) != len(self.idx_to_token):
            raise ValueError("duplicate tokens in vocabulary")

    @classmethod
    def from_counts(
        cls,
        token_counts: Iterable[tuple[str, int]],
        min_freq: int = 0,
        reserved_tokens: Sequence[str] = (),
    ) -> Vocab:
        """Build from (token, count) pairs listed in first-occurrence order."""
        pairs = list(token_counts)
        # sorted() is stable, so equal counts keep first-occurrence order, as the book's Counter does
        ordered = sorted(pairs, key=lambda tc: tc[1], reverse=True)
        idx_to_token = [UNK, *reserved_tokens]
        counts = [0] * len(idx_to_token)
        seen = set(idx_to_token)
        for token, count in ordered:
            if count < min_freq:
                break
            if token not in seen:
                idx_to_token.append(token)
                counts.append(count)
                seen.add(token)
        return cls(idx_to_token, counts)

    @classmethod
    def from_tokens(cls, tokens: Iterable[str], min_freq: int = 0, reserved_tokens: Sequence[str] = ()) -> Vocab:
        """Build from a token stream (a Counter keeps first-occurrence order)."""
        return cls.from_counts(Counter(tokens).items(), min_freq, reserved_tokens)

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, token: str) -> int:
        return self.token_to_idx.get(token, 0)

    def __contains__(self, token: object) -> bool:
        return token in self.token_to_idx

    @property
    def unk(self) -> int:
        """Id of `<unk>` (always 0)."""
        return 0

    def encode(self, tokens: Iterable[str]) -> list[int]:
        """Ids of tokens, unknown ones as 0."""
        get = self.token_to_idx.get
        return [get(t, 0) for t in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Tokens of ids."""
        return [self.idx_to_token[i] for i in ids]

    def fingerprint(self) -> str:
        """A short sha256 of the ordered token list, stored with checkpoints and snapshots."""
        h = hashlib.sha256("\x00".join(self.idx_to_token).encode("utf-8", "surrogatepass"))
        return h.hexdigest()[:16]

    def to_table(self) -> pa.Table:
        """The vocabulary as an Arrow table (token, id, match_count)."""
        return pa.table(
            {"token": self.idx_to_token, "id": list(range(len(self))), "match_count": self.counts},
            schema=VOCAB_SCHEMA,
        )

    def save(self, path: str | Path) -> None:
        """Write `vocab.parquet` (the caller makes the write atomic by writing into a staging dir)."""
        pq.write_table(self.to_table(), str(path), compression="zstd")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a `vocab.parquet` written by `save`."""
        table = pq.read_table(str(path)).sort_by("id")
        return cls(table.column("token").to_pylist(), table.column("match_count").to_pylist())
