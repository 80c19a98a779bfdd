"""Content keys for pipeline stages, so a rerun on the same inputs reuses what is finished.

A pipeline run lives in `runs/<run_id>/`. Its run id is found again from a key of everything it was
asked to do (the config) and the snapshot it counted: `runs/.keys/<key>` names the run folder. Each
stage that finishes writes `stages/<stage>.json` (its own key and its summary) last, atomically; a rerun
(after a crash, or the same command again) skips every stage whose record holds the same key and whose
output files are all still there, and recomputes the rest.

>>> import tempfile
>>> run = Path(tempfile.mkdtemp())
>>> key = stage_key("ngram_lm", {"order": 3}, "snap-1")
>>> reuse(run, "ngram_lm", key) is None
True
>>> _ = finish(run, "ngram_lm", key, {"ppl": 258.4})
>>> reuse(run, "ngram_lm", key), reuse(run, "ngram_lm", stage_key("ngram_lm", {"order": 4}, "snap-1"))
({'ppl': 258.4}, None)
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from seqpipe import SCHEMA_VERSION, __version__
from seqpipe.io import atomic_write_text, jsonable, new_run_id, write_json

STAGES_DIR = "stages"
KEYS_DIR = ".keys"


def stage_key(stage: str, config: Any, *inputs: str) -> str:
    """A key of what determines a stage's outputs: its name, config, inputs (snapshot ids) and versions."""
    payload = json.dumps([SCHEMA_VERSION, __version__, stage, config, list(inputs)], sort_keys=True,
                         default=jsonable)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def run_folder(runs_root: str | Path, key: str) -> tuple[str, Path, bool]:
    """(run id, run folder, whether it is an earlier run's) for a pipeline key; a new id when none."""
    pointer = Path(runs_root) / KEYS_DIR / key
    if pointer.is_file():
        run_id = pointer.read_text().strip()
        if (Path(runs_root) / run_id).is_dir():
            return run_id, Path(runs_root) / run_id, True
    run_id = new_run_id()
    atomic_write_text(pointer, run_id + "\n")
    return run_id, Path(runs_root) / run_id, False


def reuse(run_dir: str | Path, stage: str, key: str) -> Any | None:
    """The summary a finished stage recorded with this key, if every output path it names still exists."""
    path = Path(run_dir) / STAGES_DIR / f"{stage}.json"
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.get("key") != key or not all(Path(p).exists() for p in record.get("outputs", [])):
        return None
    return record.get("summary")


def finish(run_dir: str | Path, stage: str, key: str, summary: Any) -> Path:
    """Record a finished stage (written last: a crash before it means the stage runs again); the files its
    summary names inside the run folder are its outputs, checked before it is reused."""
    outputs = sorted(p for p in _strings(summary) if _inside(p, run_dir) and Path(p).exists())
    return write_json(Path(run_dir) / STAGES_DIR / f"{stage}.json",
                      {"stage": stage, "key": key, "outputs": outputs, "summary": summary}, kind="stage-record")


def _strings(value: Any) -> list[str]:
    if hasattr(value, "model_dump"):  # a stage result (seqpipe.results)
        return _strings(value.model_dump(mode="json"))
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _inside(path: str, folder: str | Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(Path(folder).resolve()) and Path(path) != Path(folder)
    except (OSError, ValueError):
        return False
