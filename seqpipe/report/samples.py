"""Generated text for the report, read from each model's `samples.json`.

The stage that trained or estimated a model wrote its samples beside its metrics (`seqpipe.samples`):
every model continues the first words of its own training text. The report only reads those files; it
never loads a checkpoint or estimates a model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from seqpipe.report.collect import RunData
from seqpipe.results import NeuralLMResult, NgramLMResult
from seqpipe.samples import SAMPLES_FILE, Sample, read_samples

__all__ = ["ModelSamples", "Sample", "all_samples", "model_samples"]


@dataclass
class ModelSamples:
    """The samples of one model, or a note saying why there are none."""

    model: str
    family: str
    samples: list[Sample] = field(default_factory=list)
    note: str = ""


def model_samples(m: NgramLMResult | NeuralLMResult) -> ModelSamples:
    """What the model's folder holds in `samples.json`, or a note saying it holds none."""
    family = "n-gram" if isinstance(m, NgramLMResult) else "neural"
    found = read_samples(m.folder) if m.folder is not None else None
    if found is None:
        return ModelSamples(m.name, family, note=f"no {SAMPLES_FILE} in the model folder: its stage wrote none")
    samples, note = found
    return ModelSamples(m.name, family, samples, note)


def all_samples(run: RunData, on_model: Callable[[str], None] | None = None) -> list[ModelSamples]:
    """Samples of every model in the run; a model whose samples cannot be read gets a note instead."""
    found: list[ModelSamples] = []
    for m in [*run.ngram, *run.neural]:
        if on_model is not None:
            on_model(m.name)
        try:
            found.append(model_samples(m))
        except (OSError, ValueError, KeyError, TypeError) as exc:  # json.JSONDecodeError is a ValueError
            family = "n-gram" if isinstance(m, NgramLMResult) else "neural"
            found.append(ModelSamples(m.name, family, note=f"no samples: {' '.join(str(exc).split())[:200]}"))
    return found
