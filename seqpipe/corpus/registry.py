"""Named corpora and series, like d2l's DATA_HUB: file name, download URL and checksum.

The registry is data, not code: `data/corpora.json` at the top of the repository, shipped inside the
wheel as `seqpipe/data/corpora.json` (a link to the same file), so an installed `seqpipe` knows the
same names. Add a corpus by adding a row there.

>>> NAMED["timemachine"].filename, NAMED["timemachine"].algorithm
('timemachine.txt', 'sha1')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True)
class NamedData:
    """One known data file: looked up by `filename` locally, else downloaded from `url` and verified."""

    name: str
    filename: str
    algorithm: str  # hashlib name of the checksum
    checksum: str
    url: str | None = None
    description: str = ""


def load_registry() -> dict[str, NamedData]:
    """Every named corpus and series of `data/corpora.json`, by name."""
    text = (resources.files("seqpipe") / "data" / "corpora.json").read_text(encoding="utf-8")
    return {row["name"]: NamedData(**row) for row in json.loads(text)["corpora"]}


NAMED: dict[str, NamedData] = load_registry()
