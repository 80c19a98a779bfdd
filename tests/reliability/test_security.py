"""Security: loopback-only services while counting, no writes outside the output root (names, absolute
paths, symlinks), YAML parsed with `safe_load` only."""

from __future__ import annotations

import ast
import ipaddress
import os
from pathlib import Path

import psutil
import pytest
from unit.ngrams.helpers import run_count

from seqpipe.corpus.errors import CorpusError
from seqpipe.io import read_yaml
from seqpipe.ngrams import store
from seqpipe.parallel import dask_client

pytestmark = pytest.mark.reliability

ROOT = Path(__file__).resolve().parents[2]


def listening_sockets() -> list[tuple[int, str, int]]:
    """(pid, ip, port) of every listening socket of this process and all its descendants."""
    me = psutil.Process()
    found = []
    for proc in [me, *me.children(recursive=True)]:
        try:
            conns = proc.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        found += [(proc.pid, c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    return found


@pytest.mark.timeout(90)
def test_local_cluster_listens_on_loopback_only(tmp_path, shared_data):
    seen: list[list[tuple[int, str, int]]] = []

    def look(stage: str, done: int, total: int) -> None:
        if done == 1:  # once per stage, while tasks run
            seen.append(listening_sockets())

    with dask_client(2) as client:
        worker_pids = set(client.run(os.getpid).values())
        addresses = [client.scheduler.address, *client.scheduler_info()["workers"]]
        from seqpipe.config import CorpusConfig, NgramConfig, TextConfig
        from seqpipe.ngrams.dask_count import count_corpus

        count_corpus(CorpusConfig(sources=(str(shared_data / "timemachine.txt"),), name="tm"), TextConfig(),
                     NgramConfig(blocksize=32 * 1024), tmp_path, client, on_progress=look)
    assert len(seen) == 2, "no look during counting and merging"
    for sockets in seen:
        assert worker_pids <= {pid for pid, _, _ in sockets}, "the workers' sockets were not seen"
        exposed = [s for s in sockets if not ipaddress.ip_address(s[1]).is_loopback]
        assert exposed == [], f"listening beyond loopback: {exposed}"
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder outside the output root, with a file that must never change."""
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "precious.txt").write_text("do not touch\n")
    return folder


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b""
            for p in sorted(folder.rglob("*"))}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", ["../x", "../../etc", "/abs", "a/b", "..", ".hidden", "x" * 200])
def test_names_escaping_the_output_root_are_refused_before_writing(tmp_path, name):
    (tmp_path / "c.txt").write_text("a few words\n")
    out = tmp_path / "out"
    with pytest.raises(CorpusError, match="corpus name"):
        run_count([tmp_path / "c.txt"], out, name=name)
    assert not out.exists()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("link", ["corpus", "corpus/c", "corpus/c/snapshots", "corpus/c/partition-cache",
                                  "corpus/c/LATEST", "corpus/c/.lock", "corpus/c/history.parquet"])
def test_symlinks_leading_outside_are_refused_before_writing(tmp_path, outside, link):
    (tmp_path / "c.txt").write_text("a few words\n")
    out = tmp_path / "out"
    path = out / link
    path.parent.mkdir(parents=True, exist_ok=True)
    target = outside / "precious.txt" if link.endswith(("LATEST", ".lock", ".parquet")) else outside
    path.symlink_to(target)
    before = _tree(outside)
    with pytest.raises(CorpusError, match="outside the output root|is a symlink"):
        run_count([tmp_path / "c.txt"], out, name="c")
    assert _tree(outside) == before  # nothing created, truncated or deleted out there


@pytest.mark.timeout(60)
def test_symlinks_inside_the_root_and_a_symlinked_root_are_fine(tmp_path):
    (tmp_path / "c.txt").write_text("a few words\n")
    real_root = tmp_path / "real-out"
    (real_root / "elsewhere").mkdir(parents=True)
    (real_root / "corpus").mkdir()
    (real_root / "corpus" / "c").symlink_to(real_root / "elsewhere")  # stays inside the root
    linked_root = tmp_path / "out-link"
    linked_root.symlink_to(real_root)
    result = run_count([tmp_path / "c.txt"], linked_root, name="c")
    assert store.latest_snapshot(linked_root, "c") == result.snapshot
    assert (real_root / "elsewhere" / "LATEST").is_file()


@pytest.mark.timeout(30)
def test_yaml_object_tags_are_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    payload = tmp_path / "evil.yaml"
    payload.write_text(f"!!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ValueError, match="not plain YAML data"):
        read_yaml(payload)
    payload.write_text(f"config: !!python/object/new:pathlib.Path ['{marker}']\n")
    with pytest.raises(ValueError, match="could not determine a constructor"):
        read_yaml(payload)
    assert not marker.exists()
    (tmp_path / "ok.yaml").write_text("orders: [1, 2, 3]\nname: tm\n")
    assert read_yaml(tmp_path / "ok.yaml") == {"orders": [1, 2, 3], "name": "tm"}


def test_no_code_loads_yaml_unsafely():
    """Every YAML parse in the library, tasks and flows goes through safe_load (or seqpipe.io.read_yaml)."""
    unsafe = {"load", "load_all", "unsafe_load", "unsafe_load_all", "full_load", "full_load_all"}
    offenders = []
    for folder in ("seqpipe", "tasks", "flows"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Attribute) and node.attr in unsafe
                        and isinstance(node.value, ast.Name) and node.value.id == "yaml"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: yaml.{node.attr}")
                if isinstance(node, ast.ImportFrom) and node.module == "yaml":
                    loaders = unsafe | {"Loader", "UnsafeLoader", "FullLoader"}
                    offenders += [f"{path.relative_to(ROOT)}:{node.lineno}: from yaml import {a.name}"
                                  for a in node.names if a.name in loaders]
    assert offenders == []
