"""The naive baseline: one process, d2l cleaning, a collections.Counter per order over the flat stream."""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

NON_LETTERS = re.compile(r"[^A-Za-z]+")


def main(folder: str) -> None:
    tokens: list[str] = []
    for path in sorted(Path(folder).glob("*.txt")):
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                tokens.extend(NON_LETTERS.sub(" ", line).lower().split())
    counts = [Counter(tokens), Counter(zip(tokens, tokens[1:])), Counter(zip(tokens, tokens[1:], tokens[2:]))]
    print(len(tokens), *(len(c) for c in counts))


if __name__ == "__main__":
    main(sys.argv[1])
