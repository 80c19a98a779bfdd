"""Turning any expected failure into the one line a user reads."""

from __future__ import annotations

from pydantic import ValidationError


def one_line(exc: BaseException) -> str:
    """A single-line message for an exception (pydantic errors listed as `field: reason`)."""
    if isinstance(exc, ValidationError):
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        return "; ".join(parts)
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
