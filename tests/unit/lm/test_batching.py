"""Minibatch iterators: the book's range(35) example, continuation, shifted labels, bounds, resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqpipe.batching import BatchStream, count_batches, eval_batches, random_batches, sequential_batches


def test_book_sequential_example_offset_zero():
    batches = list(sequential_batches(range(35), batch_size=2, num_steps=5, offset=0))
    assert [x.tolist() for x, _ in batches] == [
        [[0, 1, 2, 3, 4], [17, 18, 19, 20, 21]],
        [[5, 6, 7, 8, 9], [22, 23, 24, 25, 26]],
        [[10, 11, 12, 13, 14], [27, 28, 29, 30, 31]],
    ]
    assert batches[0][1].tolist() == [[1, 2, 3, 4, 5], [18, 19, 20, 21, 22]]


@pytest.mark.parametrize("offset", range(5))
def test_book_random_example_gives_three_minibatches_at_every_offset(offset):
    batches = list(random_batches(range(35), 2, 5, np.random.default_rng(offset), offset=offset))
    assert len(batches) == 3  # floor(34/5) = 6 subsequences -> 3 minibatches of 2
    starts = sorted(int(x[r, 0]) for x, _ in batches for r in range(2))
    assert starts == [offset + 5 * k for k in range(6)]  # disjoint, from the offset, none left out
    for x, y in batches:
        assert torch.equal(y, x + 1)
        assert torch.equal(x[:, 1:] - x[:, :-1], torch.ones(2, 4, dtype=torch.long))


def test_random_order_depends_on_the_generator():
    orders = {
        tuple(
            tuple(x[:, 0].tolist()) for x, _ in random_batches(range(400), 4, 5, np.random.default_rng(s), 0)
        )
        for s in range(5)
    }
    assert len(orders) > 1


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), bs=st.integers(1, 8), steps=st.integers(1, 12), offset=st.integers(0, 11))
def test_sequential_rows_continue_labels_shift_and_stay_inside(n, bs, steps, offset):
    offset = offset % steps
    batches = list(sequential_batches(np.arange(n), bs, steps, offset))
    assert len(batches) == count_batches(n, bs, steps, "sequential", offset)
    for b, (x, y) in enumerate(batches):
        assert x.shape == y.shape == (bs, steps)
        assert torch.equal(y, x + 1)  # labels are the inputs shifted by one (the corpus is arange)
        assert int(y.max()) <= n - 1  # nothing read past the end
        if b:
            assert torch.equal(x[:, 0], batches[b - 1][0][:, -1] + 1)  # row r continues row r


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 300), bs=st.integers(1, 8), steps=st.integers(1, 12), seed=st.integers(0, 10**6))
def test_random_subsequences_are_disjoint_windows_inside_the_corpus(n, bs, steps, seed):
    rng = np.random.default_rng(seed)
    batches = list(random_batches(np.arange(n), bs, steps, rng))
    seen: set[int] = set()
    for x, y in batches:
        assert torch.equal(y, x + 1) and int(y.max()) <= n - 1
        for row in x.tolist():
            assert row == list(range(row[0], row[0] + steps))
            assert not seen & set(row)
            seen |= set(row)
    assert len(batches) >= count_batches(n, bs, steps, "random", steps - 1)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 200), bs=st.integers(1, 9), steps=st.integers(1, 9))
def test_eval_batches_predict_every_token_after_the_first_exactly_once(n, bs, steps):
    targets: list[int] = []
    for x, y, _tail in eval_batches(np.arange(n), bs, steps):
        assert torch.equal(y, x + 1) and x.shape[1] <= steps
        targets.extend(y.flatten().tolist())
    assert sorted(targets) == list(range(1, n))


def test_eval_tail_continues_the_last_row():
    batches = list(eval_batches(np.arange(23), 4, 3))  # 22 predictions: 4 rows of 5, tail of 2
    rows = [b for b in batches if not b.tail]
    tail = [b for b in batches if b.tail]
    assert int(rows[-1].y[-1, -1]) == 20 and [int(t) for b in tail for t in b.x[0]] == [20, 21]


def test_stream_resumes_the_same_minibatches():
    ids = torch.arange(500)
    whole = BatchStream(ids, 4, 7, "random", seed=3)
    epochs = [[x.clone() for x, _ in whole.next_epoch()] for _ in range(4)]
    part = BatchStream(ids, 4, 7, "random", seed=3)
    for _ in range(2):
        list(part.next_epoch())
    resumed = BatchStream(ids, 4, 7, "random", seed=3)
    resumed.load_state_dict(part.state_dict())
    for e in (2, 3):
        assert all(
            torch.equal(a, b) for a, b in zip(epochs[e], [x for x, _ in resumed.next_epoch()], strict=True)
        )
    assert not torch.equal(epochs[0][0], epochs[1][0])  # each epoch draws a new offset and order


def test_stream_offsets_stay_below_num_steps():
    stream = BatchStream(torch.arange(1000), 2, 5, "sequential", seed=0)
    firsts = {int(next(stream.next_epoch())[0][0, 0]) for _ in range(200)}
    assert firsts == set(range(5))  # never 5: the book's randint(0, num_steps) off-by-one is gone


def test_stream_refuses_a_foreign_state_and_a_too_short_corpus():
    stream = BatchStream(torch.arange(100), 2, 5, "sequential", seed=0)
    with pytest.raises(ValueError, match="seed"):
        stream.load_state_dict({**stream.state_dict(), "seed": 1})
    with pytest.raises(ValueError, match="no minibatch"):
        BatchStream(torch.arange(10), 2, 5, "sequential")
