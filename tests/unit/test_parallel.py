"""Local Dask workers start without re-importing the program that started them (`python -m flows.pipeline`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import sys
import heavy_marker  # stands for what a flow module imports: prefect, torch, every task

def loaded():
    import sys
    return "heavy_marker" in sys.modules

if __name__ == "__main__":
    from seqpipe.parallel import dask_client

    with dask_client(1) as client:
        in_worker = client.submit(loaded, pure=False).result()
    main = sys.modules["__main__"]
    print(in_worker, main.__spec__.name, main.__file__.endswith("program.py"))
"""


def test_workers_do_not_reimport_the_main_module(tmp_path):
    (tmp_path / "heavy_marker.py").write_text("")
    (tmp_path / "program.py").write_text(PROGRAM)
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "DASK_LOGGING__DISTRIBUTED": "error", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "program"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    # the worker never imported the marker; the program's own __main__ is as it was after the cluster started
    assert done.stdout.split() == ["False", "program", "True"]


def test_the_local_cluster_starts_on_first_use_only(monkeypatch):
    import distributed

    from seqpipe.parallel import LazyClient, dask_client

    starts = []
    lazy = LazyClient(lambda: starts.append(1) or type("Fake", (), {"submit": lambda self, f: f()})())
    assert not lazy.started and starts == []
    assert lazy.submit(lambda: 7) == 7 and lazy.submit(lambda: 8) == 8
    assert lazy.started and starts == [1]  # started once, on the first use

    def no_cluster(*args, **kwargs):
        raise AssertionError("a LocalCluster was started for a client nobody used")

    monkeypatch.setattr(distributed, "LocalCluster", no_cluster)
    with dask_client(2) as client:
        assert isinstance(client, LazyClient) and not client.started
