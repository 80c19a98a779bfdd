"""The run's shared metrics.json: concurrent stages keep each other's keys and leave no lock file."""

from __future__ import annotations

import json
import threading

from seqpipe.io import update_run_metrics


def test_updating_run_metrics_leaves_no_lock_file(tmp_path):
    # issue 14 row 14: an empty .metrics.json.lock stayed in every run folder
    update_run_metrics(tmp_path, "rnn_lm", {"ppl": 3.0}, "gru")
    update_run_metrics(tmp_path, "report", {"html": "report.html"})
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]


def test_concurrent_updates_all_land(tmp_path):
    def stage(i: int) -> None:
        for j in range(10):
            update_run_metrics(tmp_path, f"stage{i}", j, f"m{j}")

    threads = [threading.Thread(target=stage, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert all(metrics[f"stage{i}"] == {f"m{j}": j for j in range(10)} for i in range(6))
