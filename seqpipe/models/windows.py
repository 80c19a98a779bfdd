"""The observations a forecast may see: the window of history ending at each origin (used by the AR models)."""

from __future__ import annotations

import numpy as np


def history_windows(x: np.ndarray, origins: np.ndarray, width: int) -> np.ndarray:
    """Rows x[o-width+1 .. o] for each origin o: what a forecast from o may look at.

    >>> history_windows(np.arange(10.0), np.array([3, 9]), 2).tolist()
    [[2.0, 3.0], [8.0, 9.0]]
    """
    origins = np.asarray(origins, dtype=np.int64)
    if len(origins) and (origins.min() < width - 1 or origins.max() >= len(x)):
        raise ValueError(f"origins must lie in [{width - 1}, {len(x) - 1}] for windows of {width}")
    return np.asarray(x)[origins[:, None] + np.arange(-width + 1, 1)[None, :]]
