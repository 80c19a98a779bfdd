"""`fit`: train a language model with truncated BPTT, as d2l 2.0's `train_ch8`, plus what a real run needs.

Per minibatch: fresh zero state (random sampling, or the first minibatch of an epoch) or the carried
state detached (sequential partitioning); mean cross-entropy over the time-major logits; NaN/inf check
that names the step; backward; `clip_grad_norm_` over all parameters; optimizer step. Per epoch:
token-weighted training perplexity measured during the epoch (the book's figure), token-weighted
validation perplexity on the whole valid range, early stopping, then an atomic checkpoint that
`resume` continues from bit for bit on CPU.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from seqpipe.batching import BatchStream
from seqpipe.eval.perplexity import PerplexityReport, perplexity
from seqpipe.eval.windows import evaluate_windows
from seqpipe.models.amp import autocast
from seqpipe.models.rnn_lm import detach_state
from seqpipe.models.softmax import lm_loss
from seqpipe.train.averaging import WeightAverage
from seqpipe.train.checkpoint import NonFiniteError, first_non_finite, plain, save_checkpoint
from seqpipe.train.config import LMTrainConfig
from seqpipe.train.seed import rng_state, set_rng_state
from seqpipe.train.token_source import ArraySource, SourceStream, TokenSource, sample_windows

ProgressFn = Callable[[str, int, int], None]  # (phase, done, total): 'train' steps, 'valid'/'test' tokens


@dataclass
class EpochRecord:
    """What one epoch did: token-weighted NLL totals, learning rate, time (training only)."""

    epoch: int
    steps: int
    train_tokens: int
    train_nll: float
    lr: float
    seconds: float
    valid_tokens: int = 0
    valid_nll: float | None = None
    complete: bool = True

    @property
    def train_ppl(self) -> float:
        """Training perplexity measured during the epoch."""
        return perplexity(self.train_nll, self.train_tokens)

    @property
    def valid_ppl(self) -> float | None:
        """Validation perplexity after the epoch, if evaluated."""
        return None if self.valid_nll is None else perplexity(self.valid_nll, self.valid_tokens)

    @property
    def tokens_per_s(self) -> float:
        """Training tokens per second of training time."""
        return self.train_tokens / self.seconds if self.seconds > 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """Totals and derived figures, plain Python."""
        return {
            **asdict(self),
            "train_ppl": self.train_ppl,
            "valid_ppl": self.valid_ppl,
            "tokens_per_s": self.tokens_per_s,
        }


@dataclass
class FitResult:
    """Epoch history and why training stopped ('epochs', 'early-stopping' or 'time-budget')."""

    history: list[EpochRecord]
    stopped: str
    best_epoch: int | None = None
    steps: int = 0
    valid: PerplexityReport | None = None  # of the weights fit returns with, when this call measured them
    first_step_s: float | None = None  # from the clock start to the first training step of this call
    budget_end: float | None = None  # time.perf_counter() when the time budget runs out (None: no budget)

    @property
    def tokens_per_s(self) -> float:
        """Training tokens per second over all epochs."""
        seconds = sum(r.seconds for r in self.history)
        return sum(r.train_tokens for r in self.history) / seconds if seconds > 0 else float("nan")


@dataclass
class _LoopState:
    step: int = 0
    elapsed: float = 0.0  # wall seconds spent in fit so far, across resumes
    budget_minutes: float | None = None  # the time budget in force
    budget_from: float = 0.0  # `elapsed` when that budget started
    best_epoch: int | None = None
    best_nll: float = math.inf  # valid nats per token
    bad_epochs: int = 0
    lr_scale: float = 1.0  # the plateau schedule's factor
    history: list[dict[str, Any]] = field(default_factory=list)


def make_optimizer(model: nn.Module, cfg: LMTrainConfig) -> torch.optim.Optimizer:
    """SGD (the book's, lr 1) or Adam over all parameters."""
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    # one fused kernel per step instead of a dozen foreach ops: fewer OpenMP wake-ups between small kernels
    # (pipeline LSTM 512 on 2 threads: 39.7-42.8 k vs 35.4-38.5 k tokens/s, micro-benchmark, bounded spin)
    fused = all(p.device.type in ("cpu", "cuda") for p in model.parameters())
    return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused)


def lr_factor(cfg: LMTrainConfig, step: int, progress: float) -> float:
    """Multiplier of the base learning rate: linear warm-up, then constant or cosine decay.

    >>> cfg = LMTrainConfig(schedule="cosine", min_lr_ratio=0.1, warmup_steps=10)
    >>> lr_factor(cfg, 4, 0.0), round(lr_factor(cfg, 100, 1.0), 6)
    (0.5, 0.1)
    """
    factor = (step + 1) / cfg.warmup_steps if step < cfg.warmup_steps else 1.0
    if cfg.schedule == "cosine":
        p = min(max(progress, 0.0), 1.0)
        factor *= cfg.min_lr_ratio + (1.0 - cfg.min_lr_ratio) * 0.5 * (1.0 + math.cos(math.pi * p))
    return factor


class _Progress:
    """One rich progress bar on stderr for the whole run (epoch, ppl, tokens/s, valid ppl), or nothing."""

    def __init__(self, enabled: bool, total: int | None) -> None:
        self.bar = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[info]}"),
                console=Console(stderr=True),
            )
            self.task = self.bar.add_task("training", total=total, info="")
        self.last = 0.0

    @contextmanager
    def running(self) -> Iterator[_Progress]:
        """Show the bar while the block runs."""
        if self.bar is None:
            yield self
            return
        with self.bar:
            yield self

    def update(self, step: int, info: str, force: bool = False) -> None:
        """Move to `step` with a status text, at most five times a second unless forced."""
        now = time.perf_counter()
        if self.bar is not None and (force or now - self.last > 0.2):
            self.bar.update(self.task, completed=step, info=info)
            self.last = now


def _guard(value: float, what: str, step: int, epoch: int, batch: int) -> None:
    if not math.isfinite(value):
        raise NonFiniteError(
            f"{what} is {value} at step {step} (epoch {epoch}, minibatch {batch}); training stopped, "
            "no checkpoint written for this epoch; lower the learning rate or clip harder"
        )


@dataclass
class _EpochHooks:
    """What an epoch needs from `fit`: the lr, the time check, progress, and the mid-epoch save."""

    lr_at: Callable[[], float]
    out_of_time: Callable[[], bool]
    bar: _Progress
    save_due: Callable[[], bool] = lambda: False
    save: Callable[[EpochRecord], None] | None = None  # a mid-epoch checkpoint of the epoch so far
    on_progress: ProgressFn | None = None
    position: Callable[[], tuple[int, int]] = lambda: (0, 0)  # (done, total): steps, or seconds of the budget
    first_step: float | None = None  # perf_counter of this call's first step
    average: WeightAverage | None = None  # updated after every optimizer step (cfg.ema)


def _train_epoch(
    model: nn.Module,
    batches: Iterator[tuple[torch.Tensor, torch.Tensor]],
    optimizer: torch.optim.Optimizer,
    cfg: LMTrainConfig,
    loop: _LoopState,
    epoch: int,
    device: torch.device,
    hooks: _EpochHooks,
) -> EpochRecord:
    """One epoch of truncated BPTT; stops early (complete=False) when the time budget is spent."""
    params = [p for p in model.parameters() if p.requires_grad]
    nll, tokens, state, complete, lr = 0.0, 0, None, True, cfg.lr
    started = time.perf_counter()
    for i, (X, Y) in enumerate(batches, start=1):
        X, Y = X.to(device), Y.to(device)
        if hooks.first_step is None:
            hooks.first_step = time.perf_counter()
        if state is None or cfg.iterator == "random":
            state = model.begin_state(X.shape[0], device)  # fresh zeros: first minibatch, or random sampling
        else:
            state = detach_state(state)  # carried across minibatches, gradients cut (truncated BPTT)
        lr = hooks.lr_at()
        for group in optimizer.param_groups:
            group["lr"] = lr
        with autocast(device, cfg.precision):
            loss, state = lm_loss(model, X, state, Y)  # mean cross-entropy over the time-major targets
        value = loss.item()
        _guard(value, "the training loss", loop.step + 1, epoch, i)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip > 0:
            norm = float(torch.nn.utils.clip_grad_norm_(params, cfg.clip))
            _guard(norm, "the gradient norm", loop.step + 1, epoch, i)
        optimizer.step()
        if hooks.average is not None:
            hooks.average.update(model)
        loop.step += 1
        nll += value * Y.numel()
        tokens += Y.numel()
        if hooks.bar.bar is not None:
            rate = tokens / (time.perf_counter() - started)
            hooks.bar.update(loop.step, f"epoch {epoch}  ppl {math.exp(nll / tokens):.3f}  {rate:,.0f} tok/s")
        if hooks.on_progress is not None:
            hooks.on_progress("train", *hooks.position())
        if hooks.out_of_time():
            complete = False
            break
        if hooks.save is not None and hooks.save_due():
            hooks.save(EpochRecord(epoch, loop.step, tokens, nll, lr, time.perf_counter() - started, complete=False))
    seconds = time.perf_counter() - started
    bad = first_non_finite(model.state_dict())
    if bad is not None:
        raise NonFiniteError(f"weight {bad!r} is not finite after step {loop.step} (epoch {epoch})")
    return EpochRecord(epoch, loop.step, tokens, nll, lr, seconds, complete=complete)


def resume_partial_epoch(
    history: list[EpochRecord], stream: BatchStream | SourceStream, epochs: int | None
) -> EpochRecord | None:
    """Take an epoch a time budget cut off the history and rewind the stream to it, when `epochs` lets it
    be finished; None when all were whole."""
    if not history or history[-1].complete or (epochs is not None and history[-1].epoch > epochs):
        return None
    stream.epoch -= 1
    return history.pop()


def merge_partial(partial: EpochRecord, rest: EpochRecord) -> EpochRecord:
    """One record of an epoch trained in two parts (before and after a resume).

    >>> r = merge_partial(EpochRecord(1, 3, 30, 6.0, 1.0, 2.0, complete=False), EpochRecord(1, 10, 70, 7.0, 0.5, 3.0))
    >>> r.steps, r.train_tokens, r.train_nll, r.seconds, r.complete
    (10, 100, 13.0, 5.0, True)
    """
    return EpochRecord(rest.epoch, rest.steps, partial.train_tokens + rest.train_tokens,
                       partial.train_nll + rest.train_nll, rest.lr, partial.seconds + rest.seconds,
                       rest.valid_tokens, rest.valid_nll, rest.complete)


class _RecentRate:
    """Training tokens per second over roughly the last 100 steps (None until 10 steps were timed)."""

    def __init__(self, tokens_per_step: int) -> None:
        self.tokens_per_step, self.marks = tokens_per_step, deque(maxlen=11)

    def tick(self, step: int) -> float | None:
        """Record the step (every 10th) and return the recent rate."""
        if step % 10 == 0 or not self.marks:
            self.marks.append((step, time.perf_counter()))
        if len(self.marks) < 2 or self.marks[-1][0] - self.marks[0][0] < 10:
            return None
        (s0, t0), (s1, t1) = self.marks[0], self.marks[-1]
        return (s1 - s0) * self.tokens_per_step / max(t1 - t0, 1e-9)


def make_stream(
    train: np.ndarray | torch.Tensor | TokenSource, cfg: LMTrainConfig
) -> BatchStream | SourceStream:
    """Training minibatches: `BatchStream` over an array (the book's), `SourceStream` over a token source."""
    if hasattr(train, "gather"):
        return SourceStream(train, cfg.batch_size, cfg.num_steps, cfg.iterator, cfg.seed)  # type: ignore[arg-type]
    return BatchStream(torch.as_tensor(np.asarray(train)), cfg.batch_size, cfg.num_steps, cfg.iterator, cfg.seed)


def valid_evaluator(
    valid: np.ndarray | torch.Tensor | TokenSource, cfg: LMTrainConfig, device: torch.device,
    on_progress: ProgressFn | None = None,
    windows: list[tuple[int, int]] | None = None,
) -> Callable[[nn.Module], PerplexityReport]:
    """Validation during training: the whole range when it fits `eval_tokens`, else the same fixed sample."""
    source = valid if hasattr(valid, "gather") else ArraySource(valid)  # type: ignore[arg-type]
    windows = windows or sample_windows(len(source), cfg.eval_tokens)
    progress = None if on_progress is None else (lambda done, total: on_progress("valid", done, total))
    rows = cfg.selection_rows
    return lambda model: evaluate_windows(model, source, windows, rows, cfg.num_steps, device, on_progress=progress)


def fit(
    model: nn.Module,
    train_ids: np.ndarray | torch.Tensor | TokenSource,
    valid_ids: np.ndarray | torch.Tensor | TokenSource | None,
    cfg: LMTrainConfig,
    *,
    device: torch.device | None = None,
    checkpoint_path: str | None = None,
    checkpoint_extra: dict[str, Any] | None = None,
    resume: dict[str, Any] | None = None,
    progress: bool = False,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_progress: ProgressFn | None = None,
    clock_start: float | None = None,
    reserve_s: float | Callable[[float | None], float] = 0.0,
    valid_windows: list[tuple[int, int]] | None = None,
) -> FitResult:
    """Train `model` in place on `train_ids`, judged on `valid_ids`; checkpoint each epoch; resume from one.

    Stops after `cfg.epochs`, on early stopping, or mid-epoch when `cfg.minutes` of wall time are spent,
    counted from `clock_start` (default: now) and keeping `reserve_s` seconds for what follows `fit` (a
    number, or a function of the recent training rate in tokens/s, None before it is known)
    (a checkpoint written then resumes at the next epoch). With `restore_best` the model ends with the
    weights of its best validation epoch. Validation uses `valid_windows`, by default a fixed sample
    of `cfg.eval_tokens`. With `cfg.ema` validation judges, and the model ends with, the weight average.
    """
    started = time.perf_counter() if clock_start is None else clock_start
    device = device or next(model.parameters()).device
    model.to(device)
    has_valid = valid_ids is not None and len(valid_ids) > 1
    if not has_valid and (cfg.patience or cfg.schedule == "plateau"):
        raise ValueError("early stopping and the plateau schedule need a validation range (see --split)")
    optimizer = make_optimizer(model, cfg)
    average = WeightAverage(model, cfg.ema) if cfg.ema else None
    stream = make_stream(train_ids, cfg)
    evaluate_valid = valid_evaluator(valid_ids, cfg, device, on_progress, valid_windows) if has_valid else None
    loop = _LoopState()
    best_model: dict[str, torch.Tensor] | None = None
    if resume is not None:
        model.load_state_dict(resume["model"])
        optimizer.load_state_dict(resume["optimizer"])
        stream.load_state_dict(resume["iterator"])
        loop = _LoopState(**resume["loop"])
        best_model = resume.get("best_model")
        if average is not None:
            average.load_state_dict(resume["ema"])
        set_rng_state(resume["rng"])  # last: nothing may draw between here and the first minibatch
    history = [EpochRecord(**r) for r in loop.history]
    partial = resume_partial_epoch(history, stream, cfg.epochs)  # cut by a budget or a mid-epoch checkpoint
    reports: dict[int, PerplexityReport] = {}  # valid reports of the best and the last epoch measured here
    full_budget = cfg.minutes * 60.0 if cfg.minutes else math.inf
    reserve = reserve_s if callable(reserve_s) else (lambda rate: reserve_s)
    rate = _RecentRate(cfg.batch_size * cfg.num_steps)
    budget = full_budget - reserve(None)

    def out_of_time() -> bool:
        nonlocal budget
        if not math.isfinite(full_budget):
            return False
        budget = full_budget - reserve(rate.tick(loop.step))
        return spent_of_budget() >= budget
    total_steps = (cfg.epochs or 0) * stream.batches_in(0)
    elapsed_before, stopped = loop.elapsed, "epochs"
    last_save = time.perf_counter()
    if loop.budget_minutes != cfg.minutes:  # a new time budget (another --minutes, or none) counts from now
        loop.budget_minutes, loop.budget_from = cfg.minutes, loop.elapsed

    def spent() -> float:
        return elapsed_before + time.perf_counter() - started

    def spent_of_budget() -> float:
        return spent() - loop.budget_from

    def lr_at() -> float:
        progress = max(loop.step / total_steps if total_steps else 0.0, spent_of_budget() / budget)
        return cfg.lr * loop.lr_scale * lr_factor(cfg, loop.step, progress)

    def payload() -> dict[str, Any]:
        loop.elapsed = spent()
        return {
            **(checkpoint_extra or {}),
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "best_model": best_model,
            "ema": None if average is None else average.state_dict(),
            "rng": rng_state(),
            "iterator": stream.state_dict(),
            "loop": plain(asdict(loop)),
        }

    def save_mid(so_far: EpochRecord) -> None:
        """Checkpoint mid-epoch: the history ends with the epoch so far (incomplete), as a budget stop does."""
        nonlocal last_save
        done = so_far if partial is None else merge_partial(partial, so_far)
        loop.history = [asdict(r) for r in [*history, done]]
        save_checkpoint(checkpoint_path, payload())  # type: ignore[arg-type]
        loop.history, last_save = [asdict(r) for r in history], time.perf_counter()

    every = cfg.checkpoint_minutes * 60.0 if cfg.checkpoint_minutes else math.inf
    hooks = _EpochHooks(
        lr_at,
        out_of_time,
        _Progress(progress, total_steps or None),
        save_due=lambda: time.perf_counter() - last_save >= every,
        save=save_mid if checkpoint_path and cfg.checkpoint_minutes else None,
        on_progress=on_progress,
        position=lambda: (loop.step, total_steps) if total_steps else (int(spent_of_budget()), int(budget)),
        average=average,
    )
    bar = hooks.bar
    with bar.running():
        while cfg.epochs is None or stream.epoch < cfg.epochs:
            epoch = stream.epoch + 1
            model.train()
            skip = 0 if partial is None else partial.steps - (history[-1].steps if history else 0)
            if isinstance(stream, SourceStream):
                batches = stream.next_epoch(skip)  # an epoch cut short: finish it, skipping what it trained
            else:
                batches = itertools.islice(stream.next_epoch(), skip, None)
            record = _train_epoch(model, batches, optimizer, cfg, loop, epoch, device, hooks)
            if partial is not None:
                record = merge_partial(partial, record)
                partial = None
            stopped = "time-budget" if spent_of_budget() >= budget else stopped
            last = stopped == "time-budget" or (cfg.epochs is not None and epoch >= cfg.epochs)
            if evaluate_valid is not None and (epoch % cfg.eval_every == 0 or last):
                with average.applied(model) if average is not None else nullcontext(model):  # judge the average
                    report = evaluate_valid(model)
                    better = report.nats_per_token < loop.best_nll
                    if better:
                        best_model = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
                record.valid_nll, record.valid_tokens = report.nll_sum, report.n_tokens
                reports = {k: v for k, v in reports.items() if k == loop.best_epoch} | {epoch: report}
                if better:
                    loop.best_nll, loop.best_epoch, loop.bad_epochs = report.nats_per_token, epoch, 0
                else:
                    loop.bad_epochs += 1
                    if cfg.schedule == "plateau":
                        loop.lr_scale *= cfg.plateau_factor
                if cfg.patience and loop.bad_epochs >= cfg.patience and not last:
                    stopped, last = "early-stopping", True
            history.append(record)
            loop.history = [asdict(r) for r in history]
            bar.update(
                loop.step,
                f"epoch {epoch}  train ppl {record.train_ppl:.3f}  valid ppl "
                f"{'-' if record.valid_ppl is None else f'{record.valid_ppl:.3f}'}",
                force=True,
            )
            if checkpoint_path and (epoch % cfg.checkpoint_every == 0 or last):
                save_checkpoint(checkpoint_path, payload())
                last_save = time.perf_counter()
            if on_epoch is not None:
                on_epoch(record)
            if last:
                break
    final = history[-1].epoch if history else None
    if average is not None:
        average.copy_to(model)  # the run's weights are the average from here on
    if cfg.restore_best and best_model is not None and loop.best_epoch != final:
        model.load_state_dict(best_model)
        final = loop.best_epoch
    first = None if hooks.first_step is None else hooks.first_step - started
    end = time.perf_counter() + full_budget - spent_of_budget() if math.isfinite(full_budget) else None
    return FitResult(history, stopped, loop.best_epoch, loop.step, reports.get(final) if final else None, first,
                     end)
