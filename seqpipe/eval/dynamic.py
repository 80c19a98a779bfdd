"""Dynamic evaluation (Mikolov 2010; Krause et al. 2018): the model keeps learning from the text it is scored on.

The windows are read as one stream each, in order, `num_steps` tokens a segment: a segment is scored first,
then the model takes one SGD step on that segment's loss. Every token is thus predicted by weights that
have seen only the training data and the tokens before it — a proper sequential (prequential) log-loss,
what a compressor that adapts as it goes would pay — and none is ever predicted after the model learned
from it. It is a different protocol from static evaluation (nanoGPT's validation loss is static), so
results carry both figures. The caller's model is not changed: a copy adapts.

On tiny shakespeare's test range (the last 10 % of the text, other scenes of the same plays) a 2 x 384 LSTM
drops from 1.457 to 1.326 nats/char with `lr` 0.3 and 64-token segments (lr 0.1: 1.343, 1.0: 1.384;
128-token segments at 0.5: 1.330), in ~40 s for its 111 k characters on two CPU cores.

>>> import torch
>>> from seqpipe.models.rnn_lm import build_lm
>>> from seqpipe.train.token_source import ArraySource
>>> _ = torch.manual_seed(0)
>>> model = build_lm("gru", 5, hidden=8, embedding=4)
>>> text = ArraySource(torch.tensor([1, 2, 3, 4] * 100))
>>> static = evaluate_dynamic(model, text, [(0, 400)], num_steps=8, lr=0.0)
>>> dynamic = evaluate_dynamic(model, text, [(0, 400)], num_steps=8, lr=1.0)
>>> static.n_tokens == dynamic.n_tokens == 399 and dynamic.ppl < static.ppl / 2
True
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn

from seqpipe.eval.perplexity import PerplexityReport, Totals
from seqpipe.eval.windows import Progress, Reporter
from seqpipe.models.amp import autocast
from seqpipe.models.rnn_lm import RNNLM, detach_state
from seqpipe.models.softmax import lm_nll
from seqpipe.train.token_source import TokenSource, window_tokens

READ_TOKENS = 1 << 14  # tokens read from the source at once


def adapting_copy(model: nn.Module) -> nn.Module:
    """A copy of `model` in training mode with every dropout off: it learns, deterministically.

    Training mode because cuDNN's recurrent layers only run backward in it; no dropout because the
    figure is the model's prediction, not a noisy one.
    """
    clone = copy.deepcopy(model)
    clone.train()
    for module in clone.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        if isinstance(module, RNNLM):  # the weight drop acts in training mode too (its dropout masks read .p)
            module.weight_drop = 0.0
    return clone


def evaluate_dynamic(
    model: nn.Module,
    source: TokenSource,
    windows: list[tuple[int, int]],
    num_steps: int = 64,
    lr: float = 0.3,
    device: torch.device | str | None = None,
    precision: str = "auto",
    on_progress: Progress | None = None,
    deadline: float | None = None,
    unk_id: int = 0,
) -> PerplexityReport:
    """Token-weighted NLL of `model` adapting by SGD (`lr`) on each `num_steps` segment after scoring it.

    Windows are read in order, each as one stream from the zero state; the weights carry over from one
    window to the next. With a `deadline` (a `time.perf_counter()` value) it stops at the first segment
    past it: the report then covers the first tokens only. Runs under the training `precision`.
    """
    if lr < 0:
        raise ValueError(f"dynamic evaluation: lr must be >= 0, got {lr}")
    device = device or next(model.parameters()).device
    learner = adapting_copy(model)
    optimizer = torch.optim.SGD(learner.parameters(), lr=lr)
    totals, report = Totals(device), Reporter(on_progress, window_tokens(windows))
    done, stopped = 0, False
    for a, b in windows:
        state = learner.begin_state(1, device)
        for lo in range(a, b - 1, READ_TOKENS):
            block = np.asarray(source.read(lo, min(lo + READ_TOKENS + 1, b)), np.int64)
            for k in range(0, len(block) - 1, num_steps):
                ids = torch.as_tensor(block[k : k + num_steps + 1]).to(device)
                x, y = ids[None, :-1], ids[None, 1:]
                with autocast(device, precision):
                    nll, state = lm_nll(learner, x, state, y)
                totals.add(nll, y, unk_id)  # scored before the step below learns from these tokens
                if lr > 0:
                    optimizer.zero_grad(set_to_none=True)
                    nll.mean().backward()
                    optimizer.step()
                state = detach_state(state)
                done += y.numel()
                report(done)
                if deadline is not None and time.perf_counter() >= deadline:
                    stopped = True
                    break
            if stopped:
                break
        if hasattr(source, "release"):
            source.release()
        if stopped:
            break
    report.finish(done)
    return totals.report(done)


def probe_dynamic_rate(model: nn.Module, source: TokenSource, num_steps: int, lr: float,
                       device: torch.device | str, precision: str = "auto", segments: int = 8) -> float:
    """Dynamic-evaluation tokens per second, timed on a few segments of `source` (after one to warm up)."""
    n = min(len(source), num_steps * (segments + 1) + 1)
    if n < 2:
        return float("inf")
    evaluate_dynamic(model, source, [(0, min(n, num_steps + 1))], num_steps, lr, device, precision)
    t0 = time.perf_counter()
    report = evaluate_dynamic(model, source, [(0, n)], num_steps, lr, device, precision)
    return report.n_tokens / max(time.perf_counter() - t0, 1e-6)
