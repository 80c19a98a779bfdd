"""Command-line options made from config fields: a new field of a config is a new option, with no mapping here.

An option's name, type, help and shown default come from its field (`seqpipe.fields`): the description is
the help, the config's default is shown, a Literal is a choice, a bool a `--x/--no-x` flag, a tuple a comma
list, and a grid field takes a comma list of values. Every option's own default is None (left out), so the
command sees only what the user gave: the config's default, a preset's or a checkpoint's value fills the rest,
and pydantic validates the whole (its errors stay one line through `seqpipe.cli.main`).
"""

from __future__ import annotations

import functools
import inspect
import re
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Literal

import typer
from pydantic import BeforeValidator, ByteSize
from pydantic_core import PydanticUndefined

from seqpipe.fields import Setting


def _base(annotation: Any) -> Any:
    """The annotation without `| None` (and without Annotated's metadata)."""
    if typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _base(args[0]) if len(args) == 1 else annotation
    return annotation


def _choices(annotation: Any) -> list[str] | None:
    """The values of a Literal of strings, else None."""
    if typing.get_origin(annotation) is Literal and all(isinstance(a, str) for a in typing.get_args(annotation)):
        return list(typing.get_args(annotation))
    return None


def show(value: Any) -> str:
    """A config value as one would type it on the command line.

    >>> show((1, 2, 3)), show(ByteSize(16 * 2**20)), show(ByteSize(3 * 2**29)), show(0.5)
    ('1,2,3', '16MiB', '1.5GiB', '0.5')
    """
    if isinstance(value, ByteSize):
        return re.sub(r"\.0(?=[A-Za-z])", "", value.human_readable(decimal=False))
    if isinstance(value, (tuple, list)):
        return ",".join(show(v) for v in value)
    return str(value)


def _parameter(setting: Setting) -> inspect.Parameter:
    """The typer option of one setting, as a keyword parameter whose default is None (left out)."""
    info, key = setting.info, setting.key
    base = _base(info.annotation)
    flag = "--" + key.replace("_", "-")
    default = info.get_default(call_default_factory=True)
    help_text = info.description or ""
    choices = _choices(base)
    if setting.grid:
        kind: Any = str
        if choices:
            help_text = f"{' | '.join(choices)}: {help_text}" if help_text else " | ".join(choices)
        help_text += "; a comma list makes a grid"
    elif base is bool:
        kind, flag = bool, f"{flag}/--no-{flag[2:]}"
    elif choices:
        kind = base  # typer makes a Literal a choice
    elif base in (int, float):
        kind = base
    else:  # str, paths, sizes, splits and tuples: text the config parses (tuples as comma lists)
        kind = str
    shown: Any = False if default is None or default is PydanticUndefined else show(default)
    option = typer.Option(flag, help=help_text, show_default=shown)
    return inspect.Parameter(key, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[kind | None, option])


def _value(setting: Setting, value: Any) -> Any:
    """A parsed option's value for the config: a tuple field's comma list as its items, unless the field
    parses text itself (a BeforeValidator, as `Split` has)."""
    parses_text = any(isinstance(m, BeforeValidator) for m in setting.info.metadata)
    if isinstance(value, str) and not parses_text and typing.get_origin(_base(setting.info.annotation)) is tuple:
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def with_options(found: list[Setting]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Give a command one option per setting: the command receives them as `given`, the values set."""

    def wrap(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "given"]
        keys = [p.name for p in own] + [s.key for s in found]
        clash = {k for k in keys if keys.count(k) > 1}
        if clash:  # two fields (or a field and a parameter) would share one option: name one with cli(...)
            raise TypeError(f"{command.__name__}: {sorted(clash)} would share one option")
        generated = [_parameter(s) for s in found]
        by_key = {s.key: s for s in found}

        @functools.wraps(command)
        def run(**kwargs: Any) -> Any:
            given = {k: _value(by_key[k], kwargs.pop(k)) for k in list(kwargs) if k in by_key}
            return command(**kwargs, given={k: v for k, v in given.items() if v is not None})

        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind != p.VAR_KEYWORD else p for p in own]
        run.__signature__ = inspect.Signature([*params, *generated])  # type: ignore[attr-defined]
        run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()}  # type: ignore[attr-defined]
        return run

    return wrap
