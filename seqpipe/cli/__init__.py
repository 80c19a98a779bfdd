"""`seqpipe` command line: every stage without a Prefect server.

Each sub-module registers its commands on `app`; `main()` turns expected errors into one line.
"""

from __future__ import annotations

import sys

import click
import typer

from seqpipe.errors import one_line

app = typer.Typer(
    name="seqpipe",
    help="Corpus statistics, n-gram and RNN language models, and sequence forecasting (d2l's RNN chapter).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Registration order is the order `seqpipe --help` lists the commands.
from seqpipe.cli import diff as _diff
from seqpipe.cli import forecast as _forecast
from seqpipe.cli import lm as _lm
from seqpipe.cli import report as _report
from seqpipe.cli import runs as _runs
from seqpipe.cli import stats as _stats
from seqpipe.cli import train_lm as _train_lm

for _module in (_stats, _diff, _lm, _train_lm, _forecast, _report, _runs):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `seqpipe` console script."""
    try:
        result = app(args=argv, standalone_mode=False)
    except (click.ClickException, typer.TyperException) as exc:
        # typer carries its own copy of click: its usage errors are TyperExceptions, not click's
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        print(f"seqpipe: error: {one_line(ValueError(message))} (see --help)", file=sys.stderr)
        sys.exit(getattr(exc, "exit_code", 2) or 2)
    except (click.exceptions.Abort, typer.Abort):
        sys.exit(130)
    except (ValueError, OSError, RuntimeError) as exc:
        # CorpusError and pydantic's ValidationError are ValueErrors: the user's input, not a bug
        print(f"seqpipe: error: {one_line(exc)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
