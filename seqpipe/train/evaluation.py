"""How a run spends its time budget on evaluation: which tokens are evaluated, and how long that takes.

`--minutes` bounds the whole command. Before training, `probe_rate` times a few evaluation minibatches;
`plan_evaluation` then decides the validation sample (`eval_tokens`, the same windows every time) and
the final test range (all of it unless `test_tokens` says otherwise), shrinking either to a sample when
its evaluation would take more than a fixed share of the budget (10 % for validation, 20 % for test,
15 % for the dynamic evaluation of the test that `dynamic_lr` asks for, which stops at the deadline),
and reserves the seconds the final evaluation and checkpoint need, so training stops in time. If the
machine turns out slower than probed, the final test stops at the deadline (having read the first part of
each of its rows, spread over the range) and is reported as sampled.
Which figures are sampled is recorded in the summary and printed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from seqpipe.eval.windows import evaluate_windows
from seqpipe.train.config import LMTrainConfig
from seqpipe.train.token_source import TokenSource, sample_windows, window_tokens

VALID_SHARE, TEST_SHARE, DYNAMIC_SHARE, SAFETY = 0.10, 0.20, 0.15, 1.05
EXIT_S = 1.0  # metrics files, the summary line and interpreter shutdown (torch) after the last evaluation


@dataclass(frozen=True)
class EvalPlan:
    """Windows to evaluate and the seconds to keep free for the final evaluation and checkpoint."""

    valid_windows: list[tuple[int, int]]
    test_windows: list[tuple[int, int]]
    valid_sampled: bool
    test_sampled: bool
    reserve_s: float  # seconds to keep at the probed evaluation rate
    rate: float = float("inf")  # probed evaluation tokens/s
    fixed_s: float = 0.0  # checkpoint and exit
    test_reserved: int = 0  # test tokens the reserve counts (the test may go on to the deadline)
    dynamic_s: float = 0.0  # seconds kept for the dynamic evaluation of the test, at its probed rate
    valid_passes: int = 1  # 2: the temperature calibration reads the validation sample again

    def reserve(self) -> Callable[[float | None], float]:
        """The reserve as a function of the recent training rate: the machine's load may change during
        training, so the probed evaluation rate is scaled by how the training rate moved since the probe."""
        first: list[float] = []
        tokens = (self.valid_passes * self.valid_tokens + self.test_reserved) * SAFETY

        def at(train_rate: float | None) -> float:
            if train_rate is None or not first:
                if train_rate is not None:
                    first.append(train_rate)  # measured just after the probe: the same load
                return self.reserve_s
            slower = first[0] / train_rate
            return (tokens / self.rate + self.dynamic_s) * slower + self.fixed_s

        return at

    @property
    def valid_tokens(self) -> int:
        """Predicted validation tokens."""
        return window_tokens(self.valid_windows)

    @property
    def test_tokens(self) -> int:
        """Predicted test tokens."""
        return window_tokens(self.test_windows)


def probe_rate(model: nn.Module, source: TokenSource, cfg: LMTrainConfig, device: torch.device) -> float:
    """Evaluation tokens per second, timed on a few minibatches of `source` (cold, so on the low side)."""
    n = min(len(source), cfg.eval_batch_size * cfg.num_steps * 16 + 1)
    if n < 2:
        return float("inf")
    evaluate_windows(model, source, [(0, cfg.num_steps + 1)], 1, cfg.num_steps, device)  # warm-up: first calls are slow
    t0 = time.perf_counter()
    evaluate_windows(model, source, [(0, n)], cfg.eval_batch_size, cfg.num_steps, device)
    return (n - 1) / max(time.perf_counter() - t0, 1e-6)


def plan_evaluation(
    cfg: LMTrainConfig, n_valid: int, n_test: int, rate: float, params: int, dynamic_rate: float | None = None,
    calibrate: bool = False,
) -> EvalPlan:
    """The validation sample, the test range and the reserve, for a budget of `cfg.minutes` (or none);
    with `dynamic_rate` (probed tokens/s of dynamic evaluation) also the seconds it needs, up to its share;
    with `calibrate`, a second pass over the validation sample (at most) and a second checkpoint write."""
    budget = cfg.minutes * 60.0 if cfg.minutes else float("inf")
    valid_want = min(cfg.eval_tokens or n_valid, n_valid)
    test_want = min(cfg.test_tokens or n_test, n_test)
    valid_n = int(min(valid_want, VALID_SHARE * budget * rate))
    test_n = int(min(test_want, TEST_SHARE * budget * rate))
    # the test may run on past its reserve up to the deadline (the probe is on the slow side), so plan
    # twice the reserved tokens: the command then ends at its budget instead of early
    test_planned = int(min(test_want, 2 * TEST_SHARE * budget * rate))
    valid = sample_windows(n_valid, valid_n) if n_valid > 1 else []
    test = sample_windows(n_test, test_planned) if n_test > 1 else []
    checkpoint_s = 0.3 + 4 * params * 4 / 200e6 + EXIT_S  # weights, best weights, two Adam moments ~200 MB/s
    dynamic_s = 0.0
    if cfg.minutes and dynamic_rate:
        dynamic_s = min(window_tokens(test), DYNAMIC_SHARE * budget * dynamic_rate) / dynamic_rate * SAFETY
    passes = 2 if calibrate and valid else 1
    reserve = (passes * window_tokens(valid) + min(test_n, window_tokens(test))) / rate * SAFETY \
        + passes * checkpoint_s + dynamic_s if cfg.minutes else 0.0
    return EvalPlan(valid, test, valid_n < n_valid, test_planned < n_test, reserve, rate, passes * checkpoint_s,
                    min(test_n, window_tokens(test)), dynamic_s, passes)


class EvalBar:
    """A rich progress bar on stderr for one evaluation, or nothing; also forwards to a callback."""

    def __init__(self, label: str, enabled: bool, forward: Callable[[str, int, int], None] | None) -> None:
        self.label, self.enabled, self.forward, self.bar, self.task = label, enabled, forward, None, None

    @contextmanager
    def running(self, total: int) -> Iterator[Callable[[int, int], None]]:
        """Show the bar while the block runs; yields the (done, total) callback to pass to the evaluator."""
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn(f"{self.label}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), console=Console(stderr=True))
            self.task = self.bar.add_task(self.label, total=total)
            self.bar.start()
        try:
            yield self.update
        finally:
            if self.bar is not None:
                self.bar.stop()

    def update(self, done: int, total: int) -> None:
        """Move the bar and tell the callback."""
        if self.bar is not None:
            self.bar.update(self.task, completed=done)
        if self.forward is not None:
            self.forward(self.label, done, total)
