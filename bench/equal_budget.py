"""Equal-budget quality on tiny shakespeare: nanoGPT's CPU "baby GPT" against seqpipe's best LSTM, same run.

Data as nanoGPT's `shakespeare_char`: the raw text, characters, first 90 % train / last 10 % valid.
1. Baby GPT, re-implemented here from nanoGPT's model.py/train.py (nanoGPT is not installed): 4 layers,
   4 heads, 128 dims, block 64, batch 12, no bias, no dropout, AdamW lr 1e-3 (betas 0.9/0.99, weight decay
   0.1 on matrices), 100 warm-up iterations, cosine to 1e-4 at 2000, clip 1, tied embeddings; iterations
   0..2000 with its loss estimate (20 batches per split) every 250, as the recipe runs. Its wall time
   (training loop and those estimates) is the budget.
2. seqpipe's LSTM (`train_lm`, Adam, cosine decay over the wall budget, sequential TBPTT) trained for
   that same wall time, evaluated once at the end.
Validation loss is nats per char over the whole valid split: with non-overlapping 64-char windows from a
fresh context for both models (what the baby GPT can see), and with the state carried through the
whole split for the LSTM ("full context").

    python bench/equal_budget.py [--threads 1] [--budget-s S (skip the GPT)] [--hidden 512 ...]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time

import torch
import torch.nn.functional as F
from torch import nn

from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.generate import load_model
from seqpipe.train.run import train_lm

# --- baby GPT (nanoGPT model.py, bias=False, dropout 0) -------------------------------------------------


class Block(nn.Module):
    def __init__(self, d: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d, bias=False), nn.LayerNorm(d, bias=False)
        self.c_attn, self.attn_proj = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, d, bias=False)
        self.c_fc, self.mlp_proj = nn.Linear(d, 4 * d, bias=False), nn.Linear(4 * d, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (
            t.view(B, T, self.heads, C // self.heads).transpose(1, 2) for t in (q, k, v)
        )  # (B, nh, T, hs)
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.attn_proj(y)
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class BabyGPT(nn.Module):
    def __init__(self, vocab: int, block: int = 64, layers: int = 4, heads: int = 4, d: int = 128) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(vocab, d), nn.Embedding(block, d)
        self.h = nn.ModuleList(Block(d, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d, bias=False)
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.wte.weight = self.lm_head.weight  # weight tying
        for name, p in self.named_parameters():
            if p.dim() >= 2:
                std = 0.02 / math.sqrt(2 * layers) if name.endswith("proj.weight") else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for block in self.h:
            x = block(x)
        return self.lm_head(self.ln_f(x))


def train_baby_gpt(
    train: torch.Tensor, valid: torch.Tensor, vocab: int, iters: int = 2000
) -> tuple[BabyGPT, float]:
    """nanoGPT's train.py loop with the CPU recipe's settings; returns the model and its wall seconds."""
    torch.manual_seed(1337)
    model = BabyGPT(vocab)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
        lr=1e-3,
        betas=(0.9, 0.99),
    )
    block, bs = 64, 12

    def batch(data: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ix = torch.randint(len(data) - block, (bs,))
        return (
            torch.stack([data[i : i + block] for i in ix]),
            torch.stack([data[i + 1 : i + 1 + block] for i in ix]),
        )

    def lr_at(it: int) -> float:
        if it < 100:
            return 1e-3 * (it + 1) / 101
        ratio = min(1.0, (it - 100) / (iters - 100))
        return 1e-4 + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (1e-3 - 1e-4)

    started = time.perf_counter()
    for it in range(iters + 1):
        if it % 250 == 0:  # the recipe's estimate_loss (eval_iters=20)
            model.eval()
            with torch.no_grad():
                est = {
                    name: sum(
                        F.cross_entropy(model(x).flatten(0, 1), y.flatten()).item()
                        for x, y in (batch(d) for _ in range(20))
                    )
                    / 20
                    for name, d in (("train", train), ("val", valid))
                }
            model.train()
            print(
                f"  gpt iter {it}: train {est['train']:.4f}, val {est['val']:.4f} "
                f"({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
        for group in opt.param_groups:
            group["lr"] = lr_at(it)
        x, y = batch(train)
        loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
    return model, time.perf_counter() - started


@torch.no_grad()
def window_loss(forward, data: torch.Tensor, block: int = 64, batch: int = 256) -> float:
    """Mean NLL over non-overlapping `block`-char windows of the whole split, each from a fresh context."""
    starts = torch.arange(0, len(data) - block, block)
    total, count = 0.0, 0
    for i in range(0, len(starts), batch):
        s = starts[i : i + batch, None] + torch.arange(block)
        logits = forward(data[s])  # (B, T, V)
        total += float(F.cross_entropy(logits.flatten(0, 1), data[s + 1].flatten(), reduction="sum"))
        count += s.numel()
    return total / count


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--budget-s", type=float, default=None, help="skip the GPT; train the LSTM this long")
    ap.add_argument("--gpt-iters", type=int, default=2000)
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--embedding", type=int, default=64)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--lr", type=float, default=6e-3)
    ap.add_argument("--min-lr-ratio", type=float, default=0.05)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    data = LMDataConfig(
        sources=("tinyshakespeare",), normalize="raw", tokens="char", split="0.9,0.1", split_by="tokens"
    )
    corpus = build_corpus(data)
    train, valid = torch.as_tensor(corpus.train), torch.as_tensor(corpus.valid)
    print(
        f"tiny shakespeare: {len(train):,} train / {len(valid):,} valid chars, vocab {len(corpus.vocab)} "
        f"(with <unk>), torch {args.threads} thread(s)"
    )

    budget, gpt_loss = args.budget_s, None
    if budget is None:
        gpt, budget = train_baby_gpt(train, valid, len(corpus.vocab), args.gpt_iters)
        gpt.eval()
        gpt_loss = window_loss(gpt, valid)
        print(
            f"baby GPT: {args.gpt_iters} iters in {budget:.1f} s, "
            f"valid {gpt_loss:.4f} nats/char (64-char windows)"
        )

    cfg = LMRunConfig(
        name="lstm-equal-budget",
        data=data,
        model=LMModelConfig(kind="lstm", hidden=args.hidden, layers=args.layers, embedding=args.embedding),
        train=LMTrainConfig(
            optimizer="adam",
            lr=args.lr,
            clip=1.0,
            batch_size=args.batch,
            num_steps=args.steps,
            schedule="cosine",
            warmup_steps=50,
            min_lr_ratio=args.min_lr_ratio,
            epochs=None,
            minutes=budget / 60,
            eval_every=10**6,
            checkpoint_every=10**6,
            eval_batch_size=16,
            threads=args.threads,
        ),
    )
    out = tempfile.mkdtemp(prefix="equal-budget-")
    summary = train_lm(cfg, out)
    model, _, _ = load_model(summary.checkpoint)
    model.eval()
    lstm_windows = window_loss(
        lambda x: model(x, model.begin_state(x.shape[0]))[0].view(x.shape[1], x.shape[0], -1).transpose(0, 1),
        valid,
    )
    print(
        f"LSTM {args.layers}x{args.hidden} emb {args.embedding}, "
        f"batch {args.batch} x {args.steps}, Adam {args.lr} "
        f"cosine: {summary.steps} steps ({summary.tokens_per_s:,.0f} tok/s) in a {budget:.1f} s budget"
    )
    print(
        f"LSTM valid {summary.valid_nats:.4f} nats/char full context, {lstm_windows:.4f} with 64-char windows"
    )
    if gpt_loss is not None:
        print(
            f"equal budget {budget:.0f} s: baby GPT {gpt_loss:.4f} vs LSTM {lstm_windows:.4f} (windows) / "
            f"{summary.valid_nats:.4f} (full context) nats/char"
        )


if __name__ == "__main__":
    main()
