"""Fault injection for reliability tests: hooks installed on Dask workers, driven by marker files.

Tasks run in other processes, so every instruction and every record is a file under one folder:

    <root>/slow                 seconds each partition sleeps before counting (a float)
    <root>/fail-once-<index>    partition <index> raises once: the first attempt deletes the marker
    <root>/crash/<file name>    any partition reading a file of that name kills its worker (os._exit)
    <root>/slow-merge           seconds each merge task sleeps before merging (a float)
    <root>/attempts/            one empty file per counting attempt: <index>-<pid>-<ns>
    <root>/done/                one empty file per finished attempt:  <index>-<pid>-<ns>
    <root>/merge-attempts/      one empty file per merge attempt:    <order*1000+bucket>-<pid>-<ns>
    <root>/merge-done/          one empty file per finished merge:   <order*1000+bucket>-<pid>-<ns>

`FaultPlugin` is registered with `client.register_plugin`, so a worker restarted after a kill gets the
hooks again before it runs anything.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin


class InjectedFault(RuntimeError):
    """A transient failure raised on purpose."""


def faulty(original, root: str):
    """Wrap `count_partition` so it obeys the marker files under `root`."""

    def count_partition(partition, files, infos, *args, **kwargs):
        folder = Path(root)
        stamp = f"{partition.index}-{os.getpid()}-{time.monotonic_ns()}"
        (folder / "attempts" / stamp).touch()
        names = {Path(files[p.file_index].uri).name for p in partition.pieces}
        if any((folder / "crash" / name).exists() for name in names):
            os._exit(17)  # what a segfault or the OOM killer looks like to Dask
        try:
            os.unlink(folder / f"fail-once-{partition.index}")
        except FileNotFoundError:
            pass
        else:  # only one attempt anywhere can delete the marker: that one fails
            raise InjectedFault(f"injected transient failure in partition {partition.index}")
        if (folder / "slow").exists():
            time.sleep(float((folder / "slow").read_text()))
        result = original(partition, files, infos, *args, **kwargs)
        (folder / "done" / stamp).touch()
        return result

    count_partition.faulty = True
    return count_partition


def slow_merge(original, root: str):
    """Wrap `merge_bucket` so merges can be made slow and are recorded."""

    def merge_bucket(order, bucket, *args, **kwargs):
        folder = Path(root)
        stamp = f"{order * 1000 + bucket}-{os.getpid()}-{time.monotonic_ns()}"
        (folder / "merge-attempts" / stamp).touch()
        if (folder / "slow-merge").exists():
            time.sleep(float((folder / "slow-merge").read_text()))
        result = original(order, bucket, *args, **kwargs)
        (folder / "merge-done" / stamp).touch()
        return result

    merge_bucket.faulty = True
    return merge_bucket


class FaultPlugin(WorkerPlugin):
    """Installs the `faulty` counting hook in every worker process, restarted ones included."""

    name = "seqpipe-faults"

    def __init__(self, root: str | Path):
        self.root = str(root)

    def setup(self, worker) -> None:
        """Patch the counting and merge functions in this worker process."""
        from seqpipe.ngrams import dask_count, merge

        if not getattr(dask_count.count_partition, "faulty", False):
            dask_count.count_partition = faulty(dask_count.count_partition, self.root)
        if not getattr(merge.merge_bucket, "faulty", False):
            merge.merge_bucket = slow_merge(merge.merge_bucket, self.root)


def fault_root(path: Path) -> Path:
    """A fresh folder of marker files."""
    for sub in ("attempts", "done", "crash", "merge-attempts", "merge-done"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def attempts(root: Path, folder: str = "attempts") -> dict[int, list[int]]:
    """Partition index -> pids of the processes that started (or finished) it, in start order."""
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for entry in (root / folder).iterdir():
        index, pid, ns = (int(x) for x in entry.name.split("-"))
        found[index].append((ns, pid))
    return {i: [pid for _, pid in sorted(v)] for i, v in found.items()}


def running(root: Path, kind: str = "") -> dict[int, int]:
    """Partition index (or order*1000+bucket) -> pid of attempts started and not finished."""
    started = {e.name for e in (root / f"{kind}attempts").iterdir()}
    done = {e.name for e in (root / f"{kind}done").iterdir()}
    out = {}
    for stamp in sorted(started - done):
        index, pid, _ = (int(x) for x in stamp.split("-"))
        out[index] = pid
    return out
