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
from seqpipe.cli import stats as _stats  # noqa: E402
from seqpipe.cli import lm as _lm  # noqa: E402
from seqpipe.cli import train_lm as _train_lm  # noqa: E402
from seqpipe.cli import forecast as _forecast  # noqa: E402
from seqpipe.cli import report as _report  # noqa: E402

for _module in (_stats, _lm, _train_lm, _forecast, _report):
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `seqpipe` console script."""
    try:
        result = app(args=argv, standalone_mode=False)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except (ValueError, OSError, RuntimeError) as exc:
        # CorpusError and pydantic's ValidationError are ValueErrors: the user's input, not a bug
        print(f"seqpipe: error: {one_line(exc)}", file=sys.stderr)
        sys.exit(2)
    sys.exit(result if isinstance(result, int) else 0)
