"""Training throughput at the book's sizes: seqpipe's `fit` against a bare PyTorch loop, in one run.

Models: scratch RNN (hidden 512, one-hot), nn.RNN / nn.GRU / nn.LSTM (hidden 256, one-hot); the first
10,000 characters of The Time Machine, batch 32, 35 steps, SGD lr 1, clip 1, sequential partitioning.
Both loops train the same model class from the same initial weights, so the ratio is the loop's cost:
iterator, state carrying, NaN guard, clipping, bookkeeping. Rounds alternate bare / seqpipe so drift in
a shared machine's load hits both. tokens/s = predicted tokens / wall seconds of the whole call.

    python bench/rnn_bench.py [--epochs 10] [--rounds 3] [--threads 1] [--models scratch-rnn,rnn,gru,lstm]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from seqpipe.models.rnn_lm import build_lm
from seqpipe.train.config import LMDataConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.loop import fit

BOOK_HIDDEN = {"scratch-rnn": 512, "rnn": 256, "gru": 256, "lstm": 256}


def bare_train(model: torch.nn.Module, ids: torch.Tensor, epochs: int, bs: int = 32, n: int = 35) -> int:
    """d2l's train_epoch_ch8 with torch.optim.SGD and clip_grad_norm_, nothing else; returns tokens."""
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    tokens = 0
    for epoch in range(epochs):
        offset = epoch % n  # any offset: the bench needs the work, not the randomness
        num = ((len(ids) - offset - 1) // bs) * bs
        xs = ids[offset : offset + num].reshape(bs, -1)
        ys = ids[offset + 1 : offset + 1 + num].reshape(bs, -1)
        state = None
        for i in range(0, (xs.shape[1] // n) * n, n):
            X, Y = xs[:, i : i + n], ys[:, i : i + n]
            if state is None:
                state = model.begin_state(bs)
            else:
                state = (
                    state.detach() if isinstance(state, torch.Tensor) else tuple(s.detach() for s in state)
                )
            y_hat, state = model(X, state)
            loss = F.cross_entropy(y_hat, Y.T.reshape(-1))
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            loss.item()  # the book's loop reads the loss every minibatch too
            tokens += Y.numel()
    return tokens


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=10, help="epochs (8 minibatches each) per timed call")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="scratch-rnn,rnn,gru,lstm")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    corpus = build_corpus(LMDataConfig(split="none", max_tokens=10000))
    ids = torch.as_tensor(corpus.train)
    V = len(corpus.vocab)
    cfg = LMTrainConfig(epochs=args.epochs, batch_size=32, num_steps=35, lr=1.0, clip=1.0)
    ckpt_dir = Path(tempfile.mkdtemp(prefix="rnn-bench-"))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
        f"{args.epochs} epochs x {args.rounds} rounds"
    )
    print(f"{'model':<12}{'bare tok/s':>12}{'seqpipe':>12}{'ratio':>8}{'+ckpt/epoch':>13}{'ratio':>8}")
    for kind in args.models.split(","):
        torch.manual_seed(0)
        model = build_lm(kind, V, hidden=BOOK_HIDDEN[kind])
        bare_train(model, ids, 1)  # warm-up
        fit(model, ids, None, cfg.model_copy(update={"epochs": 1}))
        bare, ours, ours_ckpt = [], [], []
        for _ in range(args.rounds):
            t = time.perf_counter()
            tokens = bare_train(model, ids, args.epochs)
            bare.append(tokens / (time.perf_counter() - t))
            t = time.perf_counter()
            result = fit(model, ids, None, cfg)
            ours.append(sum(r.train_tokens for r in result.history) / (time.perf_counter() - t))
            t = time.perf_counter()
            result = fit(model, ids, None, cfg, checkpoint_path=str(ckpt_dir / f"{kind}.pt"))
            ours_ckpt.append(sum(r.train_tokens for r in result.history) / (time.perf_counter() - t))
        b, o, c = (statistics.median(x) for x in (bare, ours, ours_ckpt))
        ratios = statistics.median(oo / bb for oo, bb in zip(ours, bare, strict=True))
        print(f"{kind:<12}{b:>12,.0f}{o:>12,.0f}{ratios:>8.2f}{c:>13,.0f}{c / b:>8.2f}", flush=True)


if __name__ == "__main__":
    main()
