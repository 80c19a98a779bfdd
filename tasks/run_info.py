"""Prefect task that records a pipeline run's config, versions and stage timings in `run.json`."""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from seqpipe.runinfo import write_run_info


@task(name="record-run", cache_policy=NO_CACHE)
def record_run(run_dir: str, run_id: str, config: dict[str, Any], timings: dict[str, float],
               outputs: dict[str, Any]) -> str:
    """Write `runs/<run_id>/run.json` and return its path."""
    return str(write_run_info(run_dir, run_id, config, timings, outputs))
