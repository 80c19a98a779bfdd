"""`make run`'s launcher: Prefect's temporary API starts first, the pipeline runs as `python -m` would run it."""

from __future__ import annotations

import sys
import time

import prefect.server.api.server as prefect_server
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows import run_local

EVENTS: list[str] = []


class FakeServer:
    """Stands for Prefect's SubprocessASGIServer: slow to start, records when it is up."""

    def start(self) -> None:
        time.sleep(0.3)
        EVENTS.append("api up")


def test_no_server_is_started_when_one_is_named():
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert run_local.start_temporary_api() is None


def test_the_api_is_up_before_the_module_runs_as_main(tmp_path, monkeypatch):
    (tmp_path / "fake_pipeline.py").write_text(
        "from tests.unit.test_run_local import EVENTS\n"
        "EVENTS.append(f'imported as {__name__}')\n"
        "if __name__ == '__main__':\n    EVENTS.append('flow ran')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(prefect_server, "SubprocessASGIServer", FakeServer)
    EVENTS.clear()
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        run_local.main("fake_pipeline")
    sys.modules.pop("fake_pipeline", None)
    assert EVENTS == ["imported as fake_pipeline", "api up", "imported as __main__", "flow ran"]
