"""What an incremental refresh needs from the previous snapshot, and which partitions it must reread.

Every snapshot carries `_refresh.json`: its partitions in order (cache key, files, whether the first
piece continues a file), the w1 cut of each bucket as a token, and each Parquet file's first n-gram and
figures. A refresh matches this run's partitions to those: unchanged ones are reused as they are; the
previous run's counts of removed partitions come back from the partition cache (pruned only after a
publish).

doc_count is the number of files holding an n-gram, so a file's old and new rows must both be complete
for the difference to be exact: every partition holding a piece of a touched file (one in an added or
removed partition, or owning an n-gram across partitions that changed) joins both sides.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from seqpipe import SCHEMA_VERSION
from seqpipe.corpus.partition import Partition
from seqpipe.io import atomic_write_text, versioned
from seqpipe.ngrams.count import PartitionSummary
from seqpipe.ngrams.merge import BucketResult, Rows

RECORD = "_refresh.json"
KIND = "ngram-refresh-record"


@dataclass
class Record:
    """A snapshot's `_refresh.json`, read back."""

    files: list[str]  # URI of each file index of that run
    partitions: list[dict[str, Any]]  # {"key", "files": [file index], "continues": bool}, in corpus order
    cuts: dict[int, list[str | None]]  # per order: first w1 token of buckets 1.. (None: past the last token)
    buckets: dict[int, list[list[BucketResult]]]  # per order, by bucket: its files in order, paths absolute


@dataclass
class Plan:
    """How this run's partitions relate to the previous run's."""

    unchanged: dict[int, int]  # this run's partition index -> the previous partition's position
    added: list[int]  # this run's partitions without a previous twin
    removed: list[int]  # positions of previous partitions without a twin now
    record: Record
    extra: list[int] = field(default_factory=list)  # unchanged partitions reread in full (they hold a touched file)


def cut_tokens(alpha_tokens: np.ndarray, cuts: np.ndarray) -> list[str | None]:
    """Bucket cuts (global ids) as tokens, so they survive a vocabulary that changes."""
    return [str(alpha_tokens[c]) if c < len(alpha_tokens) else None for c in cuts.tolist()]


def cuts_from_tokens(alpha_tokens: np.ndarray, tokens: list[str | None]) -> np.ndarray:
    """Cut ids in another alphabetical id space: bucket b keeps the w1 tokens it had."""
    return np.array([len(alpha_tokens) if t is None else int(np.searchsorted(alpha_tokens, t)) for t in tokens],
                    dtype=np.int64)


def write_record(snapshot: Path, partitions: list[Partition], keys: list[str], uris: list[str],
                 cuts: dict[int, list[str | None]], files: list[BucketResult]) -> None:
    """Write `_refresh.json` into a (staging) snapshot folder."""
    payload = versioned({
        "files": uris,
        "partitions": [{"key": k, "files": list(dict.fromkeys(piece.file_index for piece in p.pieces)),
                        "continues": p.pieces[0].continues_file} for p, k in zip(partitions, keys)],
        "orders": {str(n): {"cuts": c, "files": [
            {"bucket": f.bucket, "path": Path(f.path).relative_to(snapshot).as_posix(), "rows": f.rows, "mass": f.mass,
             "first": f.first, "count_of_counts": [list(f.count_of_counts), list(f.count_of_counts.values())],
             "top": [[list(g), c] for g, c in f.top]}
            for f in sorted((f for f in files if f.order == n), key=lambda f: f.path)]}
            for n, c in cuts.items()},
    }, KIND)
    atomic_write_text(snapshot / RECORD, json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def read_record(snapshot: Path) -> Record | None:
    """The snapshot's record, or None when it has none (an older snapshot) or it does not hold together."""
    try:
        raw = json.loads((snapshot / RECORD).read_text(encoding="utf-8"))
        if raw.get("kind") != KIND or raw.get("schema_version") != SCHEMA_VERSION:
            return None
        cuts = {int(n): o["cuts"] for n, o in raw["orders"].items()}
        buckets: dict[int, list[list[BucketResult]]] = {n: [[] for _ in range(len(c) + 1)] for n, c in cuts.items()}
        for n, o in raw["orders"].items():
            for f in o["files"]:
                buckets[int(n)][f["bucket"]].append(BucketResult(
                    int(n), f["bucket"], str(snapshot / f["path"]), f["rows"], f["mass"],
                    dict(zip(*f["count_of_counts"])), [(tuple(g), int(c)) for g, c in f["top"]],
                    None if f["first"] is None else tuple(f["first"])))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
    if not all(files and all(Path(f.path).is_file() for f in files) for b in buckets.values() for files in b):
        return None
    return Record(raw["files"], raw["partitions"], cuts, buckets)


def plan(record: Record, partitions: list[Partition], keys: list[str], uris: list[str]) -> Plan:
    """Match this run's partitions to the previous run's by cache key and file URIs."""
    previous: dict[tuple[str, tuple[str, ...]], list[int]] = {}
    for j, entry in enumerate(record.partitions):
        previous.setdefault((entry["key"], tuple(record.files[f] for f in entry["files"])), []).append(j)
    unchanged, added = {}, []
    for i, (p, k) in enumerate(zip(partitions, keys)):
        twins = previous.get((k, tuple(uris[f] for f in dict.fromkeys(piece.file_index for piece in p.pieces))))
        if twins:
            unchanged[i] = twins.pop(0)
        else:
            added.append(i)
    matched = set(unchanged.values())
    return Plan(unchanged, added, [j for j in range(len(record.partitions)) if j not in matched], record)


def old_summaries(pl: Plan, new: list[PartitionSummary], removed: dict[int, PartitionSummary],
                  uris: list[str]) -> list[PartitionSummary]:
    """The previous run's summaries in its order and file numbering: reused ones renumbered, removed ones as loaded."""
    old_index = {u: i for i, u in enumerate(pl.record.files)}
    by_position = {j: i for i, j in pl.unchanged.items()}
    out = []
    for j in range(len(pl.record.partitions)):
        if j in removed:
            out.append(removed[j])
            continue
        s = new[by_position[j]]
        to_old = {f: old_index[uris[f]] for f in {*s.head_files, *s.tail_files, *s.file_stats}}
        out.append(replace(s, index=j, head_files=[to_old[f] for f in s.head_files],
                           tail_files=[to_old[f] for f in s.tail_files],
                           file_stats={to_old[f]: v for f, v in s.file_stats.items()}))
    return out


def union_tokens(alpha_tokens: np.ndarray, removed: list[PartitionSummary]) -> np.ndarray:
    """This run's tokens plus those only removed partitions had: sorted, an id space for both sides."""
    gone = {t for s in removed for t in s.uniques.tolist()}.difference(alpha_tokens.tolist())
    if not gone:
        return alpha_tokens
    return np.array(sorted([*alpha_tokens.tolist(), *gone]), dtype=object)


def touched_files(pl: Plan, partitions: list[Partition], uris: list[str], old_crossing: dict[int, Rows],
                  new_crossing: dict[int, Rows]) -> set[str]:
    """URIs whose rows may differ: files of added and removed partitions, owners of crossing n-grams that moved."""
    touched = {uris[piece.file_index] for i in pl.added for piece in partitions[i].pieces}
    touched |= {pl.record.files[f] for j in pl.removed for f in pl.record.partitions[j]["files"]}
    for n, rows in new_crossing.items():
        old = Counter(_crossing_keys(old_crossing[n], pl.record.files))
        new = Counter(_crossing_keys(rows, uris))
        touched |= {uri for _, uri in (old - new) + (new - old)}
    return touched


def _crossing_keys(rows: Rows, uris: list[str]) -> list[tuple[tuple[int, ...], str]]:
    cols, _, files = rows
    return [(tuple(ids), uris[f]) for ids, f in zip(zip(*(c.tolist() for c in cols)), files.tolist())]


def add_extra(pl: Plan, partitions: list[Partition], uris: list[str], touched: set[str]) -> None:
    """Unchanged partitions holding a piece of a touched file: they are read in full, on both sides."""
    pl.extra = [i for i in sorted(pl.unchanged) if any(uris[p.file_index] in touched for p in partitions[i].pieces)]
