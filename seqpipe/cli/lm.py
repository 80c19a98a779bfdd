"""Placeholder: this command group is being written (see the issue that owns it)."""

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
