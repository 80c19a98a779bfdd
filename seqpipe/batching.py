"""Language-model minibatches: random sampling and sequential partitioning, as d2l 2.0 makes them.

Every minibatch is a pair (X, Y) of int64 tensors of shape (batch_size, num_steps) with Y = X shifted
by one token in corpus order. One token is reserved at the end so the last label exists: nothing is
read past the corpus. The book's sequential offset is drawn from [0, num_steps) here, not
[0, num_steps] (d2l-zh PR #1301/#1337: offset num_steps only wastes a subsequence).

- random sampling: a random offset, subsequences at offset + k*num_steps in shuffled order; the
  hidden state is re-initialized every minibatch.
- sequential partitioning: the corpus after the offset is cut into batch_size rows; minibatch b takes
  columns [b*n, (b+1)*n), so row r of minibatch b+1 continues row r of minibatch b.

`BatchStream` draws each epoch's offset and shuffle from `numpy.random.default_rng([seed, epoch])`,
so its whole state is two integers (exact resume at epoch boundaries).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
import torch

IteratorKind = Literal["sequential", "random"]
Batch = tuple[torch.Tensor, torch.Tensor]


def as_ids(corpus: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
    """A 1-D int64 tensor of token ids (no copy when it already is one).

    >>> as_ids([3, 1, 2]).tolist()
    [3, 1, 2]
    """
    if isinstance(corpus, torch.Tensor):
        ids = corpus.to(torch.int64)
    else:
        ids = torch.as_tensor(np.asarray(corpus, dtype=np.int64))
    if ids.dim() != 1:
        raise ValueError(f"token ids must be one-dimensional, got shape {tuple(ids.shape)}")
    return ids


def count_batches(n_tokens: int, batch_size: int, num_steps: int, kind: IteratorKind, offset: int) -> int:
    """Minibatches one epoch yields for a corpus of `n_tokens` at a given offset.

    >>> count_batches(35, 2, 5, "random", 4), count_batches(35, 2, 5, "sequential", 0)
    (3, 3)
    """
    usable = n_tokens - offset - 1  # one token reserved for the last label
    if usable <= 0:
        return 0
    if kind == "random":
        return (usable // num_steps) // batch_size
    if kind == "sequential":
        return (usable // batch_size) // num_steps
    raise ValueError(f"unknown iterator {kind!r}; choose 'sequential' or 'random'")


def random_batches(
    corpus: Sequence[int] | np.ndarray | torch.Tensor,
    batch_size: int,
    num_steps: int,
    rng: np.random.Generator,
    offset: int | None = None,
) -> Iterator[Batch]:
    """Random sampling: non-overlapping subsequences from a random offset, in shuffled order.

    >>> batches = list(random_batches(range(35), 2, 5, np.random.default_rng(0)))
    >>> len(batches), tuple(batches[0][0].shape)
    (3, (2, 5))
    """
    ids = as_ids(corpus)
    if offset is None:
        offset = int(rng.integers(0, num_steps))  # 0 .. num_steps-1, as the book's randint(0, n-1)
    ids = ids[offset:]
    num_subseqs = (len(ids) - 1) // num_steps
    starts = np.arange(0, num_subseqs * num_steps, num_steps, dtype=np.int64)
    rng.shuffle(starts)
    steps = torch.arange(num_steps)
    for b in range(num_subseqs // batch_size):
        cols = torch.as_tensor(starts[b * batch_size : (b + 1) * batch_size])[:, None] + steps
        yield ids[cols], ids[cols + 1]


def sequential_batches(
    corpus: Sequence[int] | np.ndarray | torch.Tensor, batch_size: int, num_steps: int, offset: int = 0
) -> Iterator[Batch]:
    """Sequential partitioning: row r of minibatch b+1 continues row r of minibatch b.

    >>> [x.tolist() for x, _ in sequential_batches(range(35), 2, 5)][0]
    [[0, 1, 2, 3, 4], [17, 18, 19, 20, 21]]
    """
    ids = as_ids(corpus)
    num_tokens = max(0, (len(ids) - offset - 1) // batch_size) * batch_size
    xs = ids[offset : offset + num_tokens].reshape(batch_size, -1)
    ys = ids[offset + 1 : offset + 1 + num_tokens].reshape(batch_size, -1)
    for i in range(0, (xs.shape[1] // num_steps) * num_steps, num_steps):
        yield xs[:, i : i + num_steps], ys[:, i : i + num_steps]


class EvalBatch(NamedTuple):
    """One evaluation minibatch; `tail` marks the last, one-row batch that continues the last row."""

    x: torch.Tensor
    y: torch.Tensor
    tail: bool


def eval_batches(
    corpus: Sequence[int] | np.ndarray | torch.Tensor, batch_size: int, num_steps: int
) -> Iterator[EvalBatch]:
    """Sequential minibatches that predict every token after the first exactly once (for evaluation).

    The corpus is cut into `batch_size` rows of equal length; the last minibatch of the rows may be
    shorter than `num_steps`; the remainder (under `batch_size` tokens) follows as a one-row `tail`
    batch that continues the last row, whose state the evaluator carries over.

    >>> [(b.x.tolist(), b.y.tolist(), b.tail) for b in eval_batches(range(8), 2, 2)]
    [([[0, 1], [3, 4]], [[1, 2], [4, 5]], False), ([[2], [5]], [[3], [6]], False), ([[6]], [[7]], True)]
    """
    ids = as_ids(corpus)
    n_pred = len(ids) - 1
    if n_pred <= 0:
        return
    rows = min(batch_size, n_pred)
    length = n_pred // rows
    xs = ids[: rows * length].reshape(rows, length)
    ys = ids[1 : rows * length + 1].reshape(rows, length)
    for i in range(0, length, num_steps):
        yield EvalBatch(xs[:, i : i + num_steps], ys[:, i : i + num_steps], False)
    if rows * length < n_pred:
        rest_x, rest_y = ids[rows * length : n_pred], ids[rows * length + 1 :]
        for i in range(0, len(rest_x), num_steps):
            yield EvalBatch(rest_x[None, i : i + num_steps], rest_y[None, i : i + num_steps], True)


class EpochPlan:
    """What every minibatch stream shares: shape checks, the (seed, epoch) plan and checkpoint state.

    A subclass has the fields batch_size, num_steps, kind, seed, epoch and says how long its stream is.
    """

    batch_size: int
    num_steps: int
    kind: str
    seed: int
    epoch: int

    def _length(self) -> int:
        raise NotImplementedError

    def _check_shape(self) -> None:
        if self.batch_size < 1 or self.num_steps < 1:
            raise ValueError("batch size and number of steps must be positive")
        if count_batches(self._length(), self.batch_size, self.num_steps, self.kind, self.num_steps - 1) < 1:
            raise ValueError(
                f"a training range of {self._length()} tokens holds no minibatch of "
                f"{self.batch_size} x {self.num_steps}; lower the batch size or the number of steps"
            )

    def _plan(self, epoch: int) -> tuple[np.random.Generator, int]:
        rng = np.random.default_rng([self.seed, epoch])
        return rng, int(rng.integers(0, self.num_steps))

    def batches_in(self, epoch: int) -> int:
        """Number of minibatches epoch `epoch` yields."""
        return count_batches(self._length(), self.batch_size, self.num_steps, self.kind, self._plan(epoch)[1])

    def state_dict(self) -> dict[str, Any]:
        """Plain-Python state for a checkpoint."""
        return {"kind": self.kind, "seed": self.seed, "epoch": self.epoch, "batch_size": self.batch_size,
                "num_steps": self.num_steps, "n_tokens": self._length()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a saved state; the stream and batch shape must be the ones it was saved with."""
        mine = self.state_dict()
        for key in ("kind", "seed", "batch_size", "num_steps", "n_tokens"):
            if state[key] != mine[key]:
                raise ValueError(f"iterator state was saved with {key}={state[key]!r}, this run has {mine[key]!r}")
        self.epoch = int(state["epoch"])


@dataclass
class BatchStream(EpochPlan):
    """Epoch after epoch of training minibatches, reproducible from (seed, epoch) alone.

    >>> stream = BatchStream(torch.arange(35), batch_size=2, num_steps=5, kind="sequential", seed=0)
    >>> len(list(stream.next_epoch())), stream.state_dict()["epoch"]
    (3, 1)
    """

    corpus: torch.Tensor
    batch_size: int
    num_steps: int
    kind: IteratorKind = "sequential"
    seed: int = 0
    epoch: int = 0  # the next epoch to yield

    def __post_init__(self) -> None:
        self.corpus = as_ids(self.corpus)
        self._check_shape()

    def _length(self) -> int:
        return len(self.corpus)

    def next_epoch(self) -> Iterator[Batch]:
        """The minibatches of the next epoch (advances the epoch counter at once)."""
        rng, offset = self._plan(self.epoch)
        self.epoch += 1
        if self.kind == "random":
            return random_batches(self.corpus, self.batch_size, self.num_steps, rng, offset)
        return sequential_batches(self.corpus, self.batch_size, self.num_steps, offset)

