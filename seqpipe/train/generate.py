"""Text from a trained language model: the book's warm-up on a prefix, then greedy or sampled tokens.

`predict_ch8` (d2l 2.0 §8.5.4) starts from the zero state, feeds the prefix to update the state
(warm-up), then repeatedly feeds the last token and appends the argmax. Here the warm-up reads the
prefix in one forward call (same state), and `temperature > 0` samples from softmax(logits / T),
optionally restricted to the `top_k` most likely tokens, with its own seeded generator. `<unk>` is
never produced. The prefix is normalized and tokenized as the model's training text was; tokens still
missing from the vocabulary are read as `<unk>`, with a warning.
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqpipe.models.rnn_lm import build_lm
from seqpipe.text.normalize import Normalize, normalize_line
from seqpipe.text.tokenize import tokenize_line
from seqpipe.text.vocab import Vocab
from seqpipe.train.checkpoint import final_weights, load_checkpoint
from seqpipe.train.config import LMModelConfig, LMRunConfig


def normalize_prefix(prefix: str, mode: Normalize = "raw", separator: str = "") -> str:
    """The prefix as the training text reads: each line normalized as the corpus, joined with `separator`.

    The last line goes on (generation continues it), so a space it ends with is kept, as mid-line.

    >>> normalize_prefix("The Time Traveller, ", "d2l"), normalize_prefix("阿Q\u3000正傳", "unicode")
    ('the time traveller ', '阿q 正傳')
    """
    if mode == "raw":
        return prefix
    *lines, last = prefix.splitlines() or [""]
    # normalized with a letter after it, the open line keeps the space its end turns into
    return separator.join([*(normalize_line(line, mode) for line in lines), normalize_line(last + "a", mode)[:-1]])


def prefix_ids(prefix: str, vocab: Vocab, unit: str = "char") -> list[int]:
    """Ids of a (normalized) prefix's tokens; unknown ones become `<unk>` (0) with a warning naming them."""
    tokens = list(prefix) if unit == "char" else tokenize_line(prefix, "word")
    if not tokens:
        raise ValueError("the prefix is empty: give at least one token to start from")
    unknown = sorted({t for t in tokens if t not in vocab})
    if unknown:
        warnings.warn(
            f"prefix tokens not in the vocabulary, read as <unk>: {', '.join(map(repr, unknown))}",
            UserWarning,
            stacklevel=3,
        )
    return vocab.encode(tokens)


def check_sampling(num_preds: int, temperature: float, top_k: int | None) -> None:
    """Refuse an out-of-range generation option with a message naming it and its range.

    >>> check_sampling(5, -1.0, None)
    Traceback (most recent call last):
    ValueError: --temperature -1.0: must be 0 (greedy) or more
    """
    if num_preds < 0:
        raise ValueError(f"--n {num_preds}: the number of tokens to generate must be 0 or more")
    if not temperature >= 0 or math.isinf(temperature):  # NaN fails the comparison
        raise ValueError(f"--temperature {temperature}: must be 0 (greedy) or more")
    if top_k is not None and top_k < 1:
        raise ValueError(f"--top-k {top_k}: must be 1 or more (or unset: every token)")


@torch.no_grad()
def generate(
    model: nn.Module,
    vocab: Vocab,
    prefix: str,
    num_preds: int = 50,
    *,
    unit: str = "char",
    temperature: float = 0.0,
    top_k: int | None = None,
    seed: int = 0,
    normalize: Normalize = "raw",
    separator: str = "",
) -> str:
    """The prefix followed by `num_preds` generated tokens (greedy when temperature is 0).

    The model reads the prefix normalized as its training text (`normalize`, lines joined by `separator`).

    >>> from seqpipe.models.rnn_lm import build_lm
    >>> _ = torch.manual_seed(0); vocab = Vocab.from_tokens("abcab")
    >>> text = generate(build_lm("gru", len(vocab), hidden=4), vocab, "ab", 5, temperature=1.0, seed=1)
    >>> len(text), text[:2], set(text) <= set("abc")
    (7, 'ab', True)
    """
    check_sampling(num_preds, temperature, top_k)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ids = prefix_ids(normalize_prefix(prefix, normalize, separator), vocab, unit)
    generator = torch.Generator(device=device).manual_seed(seed)
    state = model.begin_state(1, device)
    if len(ids) > 1:  # warm-up: the state after reading the prefix; its outputs are discarded
        _, state = model(torch.tensor([ids[:-1]], device=device), state)
    out = list(ids)
    try:
        for _ in range(num_preds):
            logits, state = model(torch.tensor([[out[-1]]], device=device), state)
            logits = logits[-1].float()
            if len(vocab) > 1:
                logits[vocab.unk] = -torch.inf
            if temperature == 0:
                token = int(logits.argmax())
            else:
                logits = logits / temperature
                if top_k is not None and top_k < len(logits):
                    kth = torch.topk(logits, top_k).values[-1]
                    logits = logits.masked_fill(logits < kth, -torch.inf)
                token = int(torch.multinomial(torch.softmax(logits, -1), 1, generator=generator))
            out.append(token)
    finally:
        model.train(was_training)
    new = vocab.decode(out[len(ids) :])
    new = ["\n" if t == "</s>" else t for t in new]  # the end-of-line token of snapshot-trained models
    return prefix + "".join(new) if unit == "char" else " ".join([prefix.strip(), *new]).replace(" \n ", "\n")


def build_model(m: LMModelConfig, vocab_size: int, cutoffs: list[int] | None = None) -> nn.Module:
    """The untrained network a model config describes, for a vocabulary of `vocab_size`."""
    return build_lm(m.kind, vocab_size, m.hidden, m.layers, m.embedding, m.dropout, cutoffs, m.weight_drop,
                    m.variational_dropout)


def load_model(
    checkpoint: str | Path, device: str | torch.device = "cpu"
) -> tuple[nn.Module, Vocab, LMRunConfig]:
    """A model ready to generate from a checkpoint, with the weights its run ended with (`final_weights`)
    and its fitted softmax temperature."""
    ckpt: dict[str, Any] = load_checkpoint(checkpoint, map_location=device)
    cfg = LMRunConfig.model_validate(ckpt["config"])
    vocab = Vocab(ckpt["vocab"], [0] * len(ckpt["vocab"]))
    model = build_model(cfg.model, len(vocab), ckpt.get("cutoffs"))
    model.load_state_dict(final_weights(ckpt))
    if hasattr(model, "temperature"):
        model.temperature = float(ckpt.get("temperature", 1.0))  # fitted after training (`calibrate`)
    return model.to(device), vocab, cfg
