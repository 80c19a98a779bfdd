"""`seqpipe runs-index`: rebuild `runs/index.parquet` and `runs/index.html` from the run folders."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from seqpipe.config import Settings


def runs_index(
    runs: Annotated[Path | None, typer.Argument(help="a runs folder (default <out>/runs)")] = None,
) -> None:
    """Rebuild the runs index from the run folders; prints the two paths (index.html last)."""
    from seqpipe.report.runs_index import write_index

    parquet, html = write_index(runs or Path(Settings().out) / "runs")
    print(parquet)
    print(html)


def register(app: typer.Typer) -> None:
    """Add `runs-index`."""
    app.command("runs-index")(runs_index)
