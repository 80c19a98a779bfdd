"""`seqpipe report RUN_DIR`: re-render a run's report.html, report.md and plots/ from the run's files.

Progress goes to stderr (a rich spinner per step); stdout ends with the report.html path, so
`open "$(seqpipe report runs/X | tail -1)"` works. `--json` prints a summary line before the path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

err = Console(stderr=True)


def report(
    run_dir: Annotated[Path, typer.Argument(help="a run folder: <out>/runs/<run_id>")],
    samples: Annotated[bool, typer.Option("--samples/--no-samples",
                                          help="show the text each model saved (samples.json)")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print a JSON summary line before the path")] = False,
) -> None:
    """Render the run's report from its files; the last line printed is the report.html path."""
    with err.status("rendering the report", spinner="dots") as status:
        from seqpipe.report.render import render_report  # matplotlib: only when a report is drawn

        paths = render_report(run_dir, samples=samples, on_step=lambda step: status.update(step))
    stages = paths.stages
    missing = [name for name, state in stages.items() if state != "ok"]
    err.print(f"report: {len(paths.plots)} figures" + (f"; not run: {', '.join(missing)}" if missing else ""),
              markup=False)
    if as_json:
        print(json.dumps({"html": str(paths.html), "markdown": str(paths.markdown), "metrics": str(paths.metrics),
                          "plots": [str(p) for p in paths.plots], "stages": stages}))
    print(paths.html)


def register(app: typer.Typer) -> None:
    """Add `report`."""
    app.command()(report)
