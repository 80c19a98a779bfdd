"""The fields of a pydantic config as flat, named settings: what the CLI makes options of and grids range over.

A field's setting is named after the field, or after its `cli` metadata (`json_schema_extra=cli("steps")`)
where the command line has always called it otherwise; nested configs (`LMRunConfig.train`) are walked.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo


@dataclass(frozen=True)
class Setting:
    """One field of a config, reachable by one flat name."""

    key: str  # the flat name: a Python identifier, `--key-with-dashes` on the command line
    path: tuple[str, ...]  # where the field lies in the config, e.g. ("train", "num_steps")
    info: FieldInfo

    @property
    def grid(self) -> bool:
        """Whether a comma list of values makes one trial per value."""
        return bool(_extra(self.info).get("grid"))


def _extra(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def _is_config(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def fields_of(model: type[BaseModel], exclude: Iterable[str] = (), under: tuple[str, ...] = ()) -> list[Setting]:
    """Every field of `model` and of its nested configs, minus the dotted paths in `exclude`; names are unique.

    >>> from seqpipe.train.config import LMRunConfig
    >>> [(s.key, s.path) for s in fields_of(LMRunConfig) if s.key in ("steps", "hidden")]
    [('hidden', ('model', 'hidden')), ('steps', ('train', 'num_steps'))]
    """
    skip = set(exclude)
    found: list[Setting] = []
    for name, info in model.model_fields.items():
        path = (*under, name)
        if ".".join(path) in skip:
            continue
        if _is_config(info.annotation):
            found += fields_of(info.annotation, skip, path)
        else:
            found.append(Setting(_extra(info).get("cli") or name, path, info))
    keys = [s.key for s in found]
    if dupes := sorted({k for k in keys if keys.count(k) > 1}):  # a config author's slip, caught at import
        raise TypeError(f"{model.__name__}: settings {dupes} are reached by two fields; name one with cli(...)")
    return found


def nest(values: dict[str, Any], found: list[Setting], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A config document: `base` (a stored config) with each value given (not None) at its setting's path.

    >>> from seqpipe.train.config import LMRunConfig
    >>> nest({"steps": 64, "hidden": None}, fields_of(LMRunConfig), {"train": {"lr": 2.0}})
    {'train': {'lr': 2.0, 'num_steps': 64}}
    """
    where = {s.key: s.path for s in found}
    doc = _copy(base or {})
    for key, value in values.items():
        if value is None:
            continue
        *sections, field = where[key]
        node = doc
        for section in sections:
            node = node.setdefault(section, {})
        node[field] = value
    return doc


def _copy(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: _copy(v) if isinstance(v, dict) else v for k, v in doc.items()}
