"""Flow `report`: render a run's report.html / report.md / plots and publish them as Prefect artifacts."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from seqpipe.results import ReportResult
from tasks.report import render_run_report


@flow(name="report", log_prints=True)
def report(run_dir: str, samples: bool = True) -> ReportResult:
    """Re-render the report of the run folder `run_dir` (`<out>/runs/<run_id>`) from its files."""
    result = render_run_report(run_dir, samples)
    print(f"report: {Path(run_dir) / result.html}")
    return result


if __name__ == "__main__":
    import sys

    report(sys.argv[1])
