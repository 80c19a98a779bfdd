"""How local Dask workers start: forked where that is safe (they inherit the imports), else spawned without
re-importing the program that started them (`python -m flows.pipeline`)."""

from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PROGRAM = """
import sys
import types
import heavy_marker  # stands for what a flow module imports: prefect, torch, every task

if len(sys.argv) > 1:  # the module that makes forking unsafe, as if it were imported
    sys.modules[sys.argv[1]] = types.ModuleType(sys.argv[1])

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


def run_program(tmp_path: Path, *args: str) -> list[str]:
    """Run PROGRAM as `python -m program ARGS` in a fresh interpreter; the words it printed."""
    (tmp_path / "heavy_marker.py").write_text("")
    (tmp_path / "program.py").write_text(PROGRAM)
    env = {"PYTHONPATH": f"{tmp_path}:{ROOT}", "DASK_LOGGING__DISTRIBUTED": "error", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "program", *args], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


@pytest.mark.parametrize("unsafe", ["torch", "prefect", "ipykernel"])
def test_workers_do_not_reimport_the_main_module(tmp_path, unsafe):
    # with torch or Prefect loaded the workers are spawned: they never imported the marker, and the
    # program's own __main__ is as it was after the cluster started
    assert run_program(tmp_path, unsafe) == ["False", "program", "True"]


@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_workers_are_forked_when_nothing_forbids_it(tmp_path):
    # a forked worker has the parent's imports without importing anything (the `seqpipe stats` case)
    assert run_program(tmp_path) == ["True", "program", "True"]


def test_start_method_choice(monkeypatch):
    from seqpipe.parallel import start_method

    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("torch", "prefect", "ipykernel"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert start_method() == "fork"
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    assert start_method() == "spawn"
    monkeypatch.delitem(sys.modules, "torch")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert start_method() == "spawn"
    assert start_method("fork") == "fork"
    with pytest.raises(ValueError, match="start method 'threads': one of fork, spawn, forkserver"):
        start_method("threads")


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


def _big(megabytes: int):
    import numpy as np

    return np.ones(megabytes << 17)  # float64: 8 bytes a value


def _total(array) -> float:
    return float(array.sum())


@pytest.mark.timeout(120)
@pytest.mark.skipif(sys.platform != "linux", reason="workers are forked on Linux only")
def test_forked_workers_pass_large_results_between_them():
    # messages over 10 MiB are (de)serialized in distributed's offload thread, which a fork leaves behind in
    # the parent once it has started (a large message received earlier, e.g. by a previous cluster of this
    # process): without a new one in each child, this transfer waited forever
    from distributed.utils import _offload_executor

    from seqpipe.parallel import dask_client

    _offload_executor.submit(lambda: None).result()  # the parent's offload thread is running
    with dask_client(2, method="fork") as client:
        client.wait_for_workers(2)
        first, second = sorted(client.scheduler_info()["workers"])
        made = client.submit(_big, 32, workers=[first], pure=False)
        summed = client.submit(_total, made, workers=[second], pure=False)
        assert summed.result(timeout=60) == float(32 << 17)


def test_an_inline_client_on_a_pool_runs_tasks_on_its_threads_and_waits_for_their_inputs():
    """Tasks given earlier tasks' futures wait for them in their thread (two threads, a chain of eight and
    one slow first task: no deadlock); results in order; a task's error surfaces when it is gathered."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from seqpipe.parallel import InlineClient, as_completed

    ran_on: list[str] = []

    def add(a: int, b: int) -> int:
        ran_on.append(threading.current_thread().name)
        return a + b

    def slow(x: int) -> int:
        time.sleep(0.2)
        return x

    with ThreadPoolExecutor(2, thread_name_prefix="pool") as pool:
        client = InlineClient(pool)
        first = client.submit(slow, 1, key="ignored", retries=1)
        chain = [first]
        for i in range(8):
            chain.append(client.submit(add, chain[-1], i))
        both = client.submit(lambda xs: sum(xs), [first, chain[-1]])
        failing = client.submit(lambda x: 1 // (x - x), first)
        assert [f.result() for f in as_completed(client, chain)] == [1 + sum(range(i)) for i in range(9)]
        assert client.gather([both]) == [1 + 1 + sum(range(8))]
        with pytest.raises(ZeroDivisionError):
            client.gather([failing])
    assert ran_on and all(name.startswith("pool") for name in ran_on)
    assert InlineClient().submit(add, 2, 3).result() == 5  # without a pool: at once, in this thread
    assert ran_on[-1] == threading.current_thread().name
