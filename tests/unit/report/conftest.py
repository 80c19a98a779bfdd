"""Fixtures: the miniature run (built once per session), its rendered copy, and fresh copies to change.

Tests that change files work on copies (`copy_run`); the session's run and rendered copy stay as built.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from unit.report.sample_run import RUN_ID, build_run


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory, shared_data) -> Path:
    """A run folder with every stage, not yet reported on."""
    return build_run(tmp_path_factory.mktemp("report-out"))


@pytest.fixture(scope="session")
def rendered(sample_run, tmp_path_factory):
    """A copy of the sample run with its report rendered, plus the metrics.json it had before."""
    from seqpipe.report.render import render_report

    run = tmp_path_factory.mktemp("rendered") / RUN_ID
    shutil.copytree(sample_run, run)
    before = json.loads((run / "metrics.json").read_text())
    paths = render_report(run)
    return run, paths, before


@pytest.fixture
def copy_run(sample_run, tmp_path):
    """A fresh copy of the sample run for a test that changes or removes files."""
    def make(name: str = RUN_ID) -> Path:
        dest = tmp_path / name
        shutil.copytree(sample_run, dest)
        return dest
    return make
