"""`python -m flows` (make run): on its own temporary server the pipeline runs without flow-run heartbeats."""

from __future__ import annotations

import threading

import flows.__main__ as entry
import flows.pipeline
from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY


def _run_main(monkeypatch, started: bool) -> list:
    seen = []

    def fake_pipeline():
        seen.append(PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value())
        return {"snapshot": "s", "run_dir": "r", "report": "h"}

    thread = threading.Thread(target=lambda: None)
    thread.start()
    monkeypatch.setattr(entry, "_start_temporary_server", lambda: thread if started else None)
    monkeypatch.setattr(flows.pipeline, "pipeline", fake_pipeline)
    entry.main()
    return seen


def test_the_temporary_server_run_sends_no_heartbeats_and_restores_the_setting(monkeypatch, capsys):
    before = PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()
    assert before is not None  # Prefect's default sends them
    assert _run_main(monkeypatch, started=True) == [None]
    assert PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value() == before
    assert "run folder: r" in capsys.readouterr().out


def test_a_lasting_server_keeps_its_heartbeats(monkeypatch, capsys):
    # with PREFECT_API_URL set nothing is started here: crashed runs must still be detectable there
    assert _run_main(monkeypatch, started=False) == [PREFECT_FLOWS_HEARTBEAT_FREQUENCY.value()]
