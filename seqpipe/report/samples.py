"""Generated text for the report: every language model continues one fixed prefix, reproducibly.

Neural models load their checkpoint (`torch.load(weights_only=True)` via `train.generate.load_model`) and
continue the book's prefix "time traveller" greedily (d2l's `predict`) and by seeded sampling. An n-gram
model is not stored whole, so it is re-estimated from its recorded sources and config (seconds for a
book) and sampled with fixed seeds; the report says whether the re-estimated model reproduces the
stored test perplexity, i.e. whether the corpus is still the one the run saw.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

from seqpipe.report.collect import NeuralResult, NgramResult, RunData

NEURAL_PREFIX = "time traveller"
NGRAM_PREFIX = "the time traveller"
NEURAL_CHARS = 50  # the book's predict('time traveller') length
NGRAM_SEEDS = (0, 1, 2)
NGRAM_MAX_TOKENS = 20
MAX_REESTIMATE_TOKENS = 5_000_000  # larger n-gram models are not re-estimated just for samples
TEMPERATURE = 0.8


@dataclass(frozen=True)
class Sample:
    """One generated text (prefix included) and how it was drawn."""

    how: str
    prefix: str
    text: str

    @property
    def continuation(self) -> str:
        """The generated part after the prefix."""
        return self.text.removeprefix(self.prefix)


@dataclass
class ModelSamples:
    """The samples of one model, or a note saying why there are none."""

    model: str
    family: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""


def _tokens(prefix: str, unit: str) -> list[str]:
    return list(prefix) if unit == "char" else prefix.split()


def neural_samples(m: NeuralResult, prefix: str = NEURAL_PREFIX, num_preds: int = NEURAL_CHARS) -> ModelSamples:
    """Greedy and seeded-sampled continuations of `prefix` from a neural model's checkpoint."""
    out = ModelSamples(m.name, "neural")
    checkpoint = m.folder / "checkpoint.pt" if m.folder else None
    if checkpoint is None or not checkpoint.is_file():
        out.note = "no checkpoint.pt in the model folder"
        return out
    from seqpipe.train.generate import generate, load_model  # torch is imported only when a report needs it

    model, vocab, cfg = load_model(checkpoint, "cpu")
    unit = cfg.data.tokens
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        greedy = generate(model, vocab, prefix, num_preds, unit=unit)
        sampled = generate(model, vocab, prefix, num_preds, unit=unit, temperature=TEMPERATURE, seed=0)
    what = "characters" if unit == "char" else "tokens"
    out.samples = [Sample(f"greedy, {num_preds} {what}", prefix, greedy),
                   Sample(f"sampled, temperature {TEMPERATURE}, seed 0", prefix, sampled)]
    out.note = "; ".join(dict.fromkeys(str(w.message) for w in caught))
    return out


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return (math.isinf(a) and math.isinf(b)) or math.isclose(a, b, rel_tol=1e-9)


def ngram_samples(m: NgramResult, prefix: str = NGRAM_PREFIX, seeds: tuple[int, ...] = NGRAM_SEEDS,
                  max_tokens: int = NGRAM_MAX_TOKENS) -> ModelSamples:
    """Seeded sentences continuing `prefix` from an n-gram model re-estimated from its recorded config."""
    out = ModelSamples(m.name, "n-gram")
    train_tokens = m.split.get("train", {}).get("tokens", 0)
    if not m.sources or not m.config:
        out.note = "the metrics do not record the sources and config needed to re-estimate the model"
        return out
    if train_tokens > MAX_REESTIMATE_TOKENS:
        out.note = f"not re-estimated for samples: {train_tokens:,} training tokens"
        return out
    from seqpipe.ngrams.generate import generate
    from seqpipe.ngrams.lm_config import NgramLMConfig
    from seqpipe.ngrams.lm_eval import run_lm

    rerun = run_lm(m.sources, NgramLMConfig.model_validate(m.config))
    unit = rerun.config.tokens
    joiner = "" if unit == "char" else " "
    for seed in seeds:
        words = generate(rerun.model, _tokens(prefix, unit), max_tokens=max_tokens, seed=seed)
        out.samples.append(Sample(f"sampled, seed {seed}, to </s> or {max_tokens} tokens", prefix, joiner.join(words)))
    stored, again = m.ppl_incl_oov, rerun.test.ppl_incl_oov
    out.note = ("re-estimated from the corpus; reproduces the stored test perplexity" if _same(stored, again) else
                f"WARNING: the re-estimated model scores test perplexity {again:.4g}, the run stored {stored}: "
                "the corpus changed since the run, so these samples come from a different model")
    return out


def all_samples(run: RunData, on_model: Callable[[str], None] | None = None) -> list[ModelSamples]:
    """Samples of every model in the run; a model whose files or corpus cannot be read gets a note instead."""
    found: list[ModelSamples] = []
    for m in [*run.ngram, *run.neural]:
        if on_model is not None:
            on_model(m.name)
        family = "n-gram" if isinstance(m, NgramResult) else "neural"
        try:
            found.append(ngram_samples(m) if isinstance(m, NgramResult) else neural_samples(m))
        except (OSError, ValueError, KeyError, RuntimeError) as exc:  # CorpusError is a ValueError
            found.append(ModelSamples(m.name, family, note=f"no samples: {' '.join(str(exc).split())[:200]}"))
    return found
