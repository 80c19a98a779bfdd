"""Generated text kept beside a model's metrics: `models/<name>/samples.json`.

The stage that owns a model writes its samples when it saves the model (`train.run` for the RNN LMs,
`ngrams.lm_eval.save_run` for the n-gram LMs); the report only reads them. Samples start from the
model's own training text (`training_prefix`), so a model of a Chinese novel continues Chinese.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from seqpipe.io import write_json

SAMPLES_FILE = "samples.json"


@dataclass(frozen=True)
class Sample:
    """One generated text (prefix included) and how it was drawn."""

    how: str
    prefix: str
    text: str

    @property
    def continuation(self) -> str:
        """The generated part after the prefix."""
        return self.text.removeprefix(self.prefix)


def training_prefix(text: str, unit: str, words: int = 2, max_chars: int = 16) -> str:
    """Where a model's samples start: the first `words` words of its training text (char models: <= max_chars).

    >>> training_prefix("the time machine, by H. G. Wells", "word")
    'the time'
    >>> training_prefix("第一回灵根育孕源流出心性修持大道生", "char")
    '第一回灵根育孕源流出心性修持大道'
    """
    prefix = " ".join(text[:4096].split()[:words])
    prefix = prefix[:max_chars] if unit == "char" else prefix
    if not prefix:
        raise ValueError("the training text starts with no words to continue")
    return prefix


def write_samples(folder: str | Path, samples: Sequence[Sample], note: str = "") -> Path:
    """Write `samples.json` into a model folder."""
    payload = {"samples": [asdict(s) for s in samples], "note": note}
    return write_json(Path(folder) / SAMPLES_FILE, payload, kind="lm-samples")


def read_samples(folder: str | Path) -> tuple[list[Sample], str] | None:
    """The samples and note saved in a model folder, or None when it holds no `samples.json`."""
    path = Path(folder) / SAMPLES_FILE
    if not path.is_file():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return [Sample(s["how"], s["prefix"], s["text"]) for s in doc["samples"]], str(doc.get("note", ""))
