"""One Prefect test harness (temporary SQLite + API server) for every flow test of the session, and one
clean tiny `seqpipe` run that several flow tests read."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def tiny_pipeline(prefect_harness, tmp_path_factory, shared_data) -> tuple[Path, dict]:
    """A clean `seqpipe` run on the TINY settings into the relative root `seqpipe-out` (as `make run` writes),
    from a fresh working folder: (that folder, the flow's result). Read it, never write into it."""
    from tiny_pipeline import TINY

    from flows.pipeline import pipeline

    cwd = tmp_path_factory.mktemp("tiny-pipeline")
    before = os.getcwd()
    os.chdir(cwd)
    try:
        result = pipeline(**TINY, out="seqpipe-out")
    finally:
        os.chdir(before)
    return cwd, result
