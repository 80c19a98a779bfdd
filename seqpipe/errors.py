"""Turning any expected failure into the one line a user reads."""

from __future__ import annotations

from pydantic import ValidationError


def one_line(exc: BaseException) -> str:
    """A single-line message for an exception (pydantic errors listed as `field: reason`)."""
    if isinstance(exc, ValidationError):
        parts = []
        for e in exc.errors():  # a model-level check has no field: its message stands alone
            where, msg = ".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
        return "; ".join(parts)
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())
