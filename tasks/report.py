"""Prefect task for the run report: render it with seqpipe, publish it as artifacts under stable keys.

Artifacts (keys stay the same from run to run, so the UI keeps each one's history):
`seqpipe-report` (the report as Markdown), `lm-perplexity` (the language-model table),
`report-link` (a file:// link to report.html), and a progress artifact while rendering.
"""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.cache_policies import NO_CACHE

from seqpipe.report import lm_table
from seqpipe.report.collect import read_run
from seqpipe.report.render import render_report
from seqpipe.results import ReportResult

REPORT_KEY = "seqpipe-report"
LM_TABLE_KEY = "lm-perplexity"
LINK_KEY = "report-link"
STEPS = 8  # reading, figures, one step per model's samples, writing: a rough scale for the progress bar


@task(name="render-report", cache_policy=NO_CACHE)  # reads files other stages rewrite; always re-render
def render_run_report(run_dir: str, samples: bool = True) -> ReportResult:
    """Render `run_dir`'s report, publish it as artifacts, and return its result (report.json)."""
    logger = get_run_logger()
    progress_id = create_progress_artifact(progress=0.0, description=f"rendering the report of {run_dir}")
    done = 0

    def on_step(step: str) -> None:
        nonlocal done
        done += 1
        logger.info("report: %s", step)
        update_progress_artifact(progress_id, progress=min(95.0, 100.0 * done / STEPS))

    paths = render_report(run_dir, samples=samples, on_step=on_step)
    update_progress_artifact(progress_id, progress=100.0)
    html = paths.html.resolve()
    create_markdown_artifact(key=REPORT_KEY, markdown=paths.markdown.read_text(encoding="utf-8"),
                             description=f"Run report of {html.parent.name}")
    table = lm_table.lm_table(read_run(run_dir))
    if table.rows:
        create_table_artifact(key=LM_TABLE_KEY, table=table.records(),
                              description="Test perplexity of every n-gram and neural LM (natural log; see the report "
                                          "for test sets and OOV handling)")
    create_link_artifact(key=LINK_KEY, link=html.as_uri(), link_text="report.html",
                         description=f"The full report with figures: {html}")
    logger.info("report: %s", html)
    return paths.result
