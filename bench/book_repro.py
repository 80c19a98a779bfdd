"""The book's 2.0 character LMs reproduced with seqpipe: training perplexity and greedy text after 500 epochs.

d2l 2.0 §8.5/8.6/9.1/9.2: The Time Machine, d2l cleaning, lines joined with no separator, first 10,000
characters, vocab 28; batch 32, 35 steps, sequential partitioning (state carried and detached), SGD lr 1,
gradient clipped to global norm 1, 500 epochs; scratch RNN hidden 512, nn.RNN / nn.GRU / nn.LSTM hidden 256,
one-hot input. The book reports training perplexity 1.0 / 1.3 / 1.0 / 1.1 (scratch / RNN / GRU / LSTM).

    python bench/book_repro.py [--epochs 500] [--threads 1] [--seed 0] [--out DIR]
                               [--models scratch-rnn,rnn,gru,lstm]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import torch

from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.generate import generate, load_model
from seqpipe.train.run import train_lm

BOOK = {"scratch-rnn": (512, 1.0), "rnn": (256, 1.3), "gru": (256, 1.0), "lstm": (256, 1.1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--models", default="scratch-rnn,rnn,gru,lstm")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=None, help="run folder (default: a temporary one)")
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="book-repro-")
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.epochs} epochs, out {out}")
    print(f"{'model':<12}{'train ppl':>10}{'min':>8}{'book':>6}{'tok/s (median epoch)':>22}{'wall s':>8}")
    texts = []
    for kind in args.models.split(","):
        hidden, book = BOOK[kind]
        cfg = LMRunConfig(
            data=LMDataConfig(
                sources=("timemachine",), normalize="d2l", tokens="char", split="none", max_tokens=10000
            ),
            model=LMModelConfig(kind=kind, hidden=hidden),
            train=LMTrainConfig(
                batch_size=32,
                num_steps=35,
                iterator="sequential",
                optimizer="sgd",
                lr=1.0,
                clip=1.0,
                epochs=args.epochs,
                threads=args.threads,
                checkpoint_every=50,
                seed=args.seed,
            ),
        )
        summary = train_lm(cfg, out)
        model, vocab, _ = load_model(summary.checkpoint)
        history = json.loads((Path(out) / "models" / kind / "metrics.json").read_text())["history"]
        tok_s = statistics.median(r["tokens_per_s"] for r in history)
        print(
            f"{kind:<12}{summary.train_ppl:>10.3f}{min(r['train_ppl'] for r in history):>8.3f}{book:>6.1f}"
            f"{tok_s:>22,.0f}{summary.wall_s:>8.0f}",
            flush=True,
        )
        texts.append(
            (kind, generate(model, vocab, "time traveller", 50), generate(model, vocab, "traveller", 50))
        )
    for kind, a, b in texts:
        print(f"{kind}: {a!r}\n{' ' * len(kind)}  {b!r}")


if __name__ == "__main__":
    main()
