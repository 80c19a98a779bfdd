"""Flow `report`: render a run's report.html / report.md / plots and publish them as Prefect artifacts."""

from __future__ import annotations

from typing import Any

from prefect import flow

from tasks.report import render_run_report


@flow(name="report", log_prints=True)
def report(run_dir: str, samples: bool = True) -> dict[str, Any]:
    """Re-render the report of the run folder `run_dir` (`<out>/runs/<run_id>`) from its files."""
    paths = render_run_report(run_dir, samples)
    print(f"report: {paths['html']}")
    return paths


if __name__ == "__main__":
    import sys

    report(sys.argv[1])
