"""One RNN language-model run: a config in; a trained model, held-out perplexities and files out.

Writes under `out_dir`:

    models/<name>/checkpoint.pt   every epoch, atomically (resumable; see checkpoint.py); at the end also
                                  the softmax temperature fitted on valid (`calibrate`)
    models/<name>/config.json     the run config, vocab fingerprint and size, parameter count
    models/<name>/vocab.parquet   the vocabulary
    models/<name>/metrics.json    the result (seqpipe.results.NeuralLMResult), written last: perplexities,
                                  unigram baselines, tokens/s, the config and the per-epoch history
    models/<name>/curve.csv       the training curve: epoch, steps, lr, train/valid ppl, tokens/s
    models/<name>/samples.json    greedy and sampled text continuing the first words of the training text
    metrics.json                  the run's metrics; this stage owns its "rnn_lm" key, one entry per model
"""

from __future__ import annotations

import csv
import io
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqpipe.eval.calibration import calibratable, calibrate, calibration_windows
from seqpipe.eval.dynamic import evaluate_dynamic, probe_dynamic_rate
from seqpipe.eval.windows import evaluate_windows
from seqpipe.io import atomic_path, atomic_write_text, update_run_metrics, write_json
from seqpipe.models.rnn_lm import count_parameters
from seqpipe.models.softmax import adaptive_cutoffs, use_adaptive
from seqpipe.results import NeuralLMResult
from seqpipe.samples import Sample, training_prefix, write_samples
from seqpipe.text.vocab import Vocab
from seqpipe.train.allocator import keep_freed_memory
from seqpipe.train.checkpoint import load_checkpoint, save_checkpoint
from seqpipe.train.config import LMRunConfig
from seqpipe.train.evaluation import EXIT_S, EvalBar, plan_evaluation, probe_rate
from seqpipe.train.generate import build_model, generate
from seqpipe.train.lm_data import load_lm_data
from seqpipe.train.loop import EpochRecord, ProgressFn, fit
from seqpipe.train.seed import resolve_device, seed_everything, torch_threads
from seqpipe.train.token_source import window_tokens

# Training fields a resumed run may change; any other difference from the checkpoint is an error.
RESUMABLE_CHANGES = frozenset(
    {"epochs", "minutes", "patience", "device", "threads", "checkpoint_every", "eval_every", "eval_tokens",
     "test_tokens", "checkpoint_minutes", "dynamic_lr", "calibrate"}
)
SAMPLE_TOKENS = 50  # the book's predict('time traveller', 50)
SAMPLE_TEMPERATURE = 0.8


def config_differences(saved: dict[str, Any], mine: dict[str, Any], skip: frozenset[str] = frozenset()) -> list[str]:
    """`field: saved ≠ mine` for every field two dumped configs disagree on (the model kind reads `model`).

    >>> config_differences({"kind": "gru", "hidden": 8}, {"kind": "lstm", "hidden": 8})
    ['model: gru ≠ lstm']
    """
    return [f"{'model' if k == 'kind' else k}: {saved.get(k)} ≠ {mine[k]}"
            for k in mine if mine[k] != saved.get(k) and k not in skip]


def check_resumable(cfg: LMRunConfig, saved: LMRunConfig) -> None:
    """Refuse to resume a checkpoint under a config that would train something else, naming the fields."""
    for part in ("data", "model"):
        changed = config_differences(getattr(saved, part).model_dump(), getattr(cfg, part).model_dump())
        if changed:
            raise ValueError(f"the checkpoint was trained with another {part} config: {'; '.join(changed)} "
                             "(checkpoint ≠ this run); resume with the saved one")
    changed = config_differences(saved.train.model_dump(), cfg.train.model_dump(), RESUMABLE_CHANGES)
    if changed:
        raise ValueError(
            f"cannot change {'; '.join(changed)} when resuming (only {', '.join(sorted(RESUMABLE_CHANGES))})"
        )


def train_lm(
    cfg: LMRunConfig,
    out_dir: str | Path,
    *,
    resume: str | Path | None = None,
    progress: bool = False,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    on_progress: ProgressFn | None = None,
    clock_start: float | None = None,
) -> NeuralLMResult:
    """Train, evaluate and save one language model as `cfg` says; resume from a checkpoint if given.

    The time budget counts from `clock_start` (a `time.perf_counter()` value; the CLI passes the
    process start, so `--minutes` bounds the whole command), else from this call.
    """
    started = time.perf_counter() if clock_start is None else clock_start
    keep_freed_memory()  # before the first step: 1.3-1.7x the tokens/s on a CPU (allocator.py)
    with torch_threads(cfg.train.threads):
        return _train_lm(cfg, Path(out_dir), resume, progress, on_epoch, on_progress, started)


def _train_lm(cfg: LMRunConfig, out_dir: Path, resume: str | Path | None, progress: bool,
              on_epoch: Callable[[EpochRecord], None] | None, on_progress: ProgressFn | None,
              started: float) -> NeuralLMResult:
    saved = load_checkpoint(resume) if resume is not None else None
    if saved is not None:
        check_resumable(cfg, LMRunConfig.model_validate(saved["config"]))
    wall_before = float(saved["loop"].get("elapsed", 0.0)) if saved is not None else 0.0
    seed_everything(cfg.train.seed)
    data = load_lm_data(cfg.data)
    corpus, vocab = data.corpus, data.corpus.vocab
    if saved is not None and saved["vocab_hash"] != vocab.fingerprint():
        raise ValueError("the corpus now gives another vocabulary than the checkpoint's; it changed since")
    device = resolve_device(cfg.train.device)
    m, t = cfg.model, cfg.train
    cutoffs = adaptive_cutoffs(data.counts) if use_adaptive(m.softmax, len(vocab)) else None
    model = build_model(m, len(vocab), cutoffs).to(device)
    probe_source = data.valid if len(data.valid) > 1 else data.train
    rate = probe_rate(model, probe_source, t, device) if t.minutes else 1.0
    dynamic_rate = probe_dynamic_rate(model, probe_source, t.num_steps, t.dynamic_lr, device, t.precision) \
        if t.minutes and t.dynamic_lr else None
    calibrating = t.calibrate and calibratable(model) and len(data.valid) > 1
    plan = plan_evaluation(t, len(data.valid), len(data.test), rate, count_parameters(model), dynamic_rate,
                           calibrating)

    model_dir = Path(out_dir) / "models" / cfg.model_name
    checkpoint = model_dir / "checkpoint.pt"
    write_json(
        model_dir / "config.json",
        {
            "name": cfg.model_name,
            "config": cfg.model_dump(mode="json"),
            "vocab_hash": vocab.fingerprint(),
            "vocab_size": len(vocab),
            "params": count_parameters(model),
            "tokens": corpus.sizes(),
            "cutoffs": cutoffs,
        },
        kind="lm-config",
    )
    with atomic_path(model_dir / "vocab.parquet") as tmp:
        vocab.save(tmp)

    result = fit(
        model,
        data.train,
        data.valid,
        t,
        device=device,
        checkpoint_path=str(checkpoint),
        checkpoint_extra={
            "config": cfg.model_dump(mode="json"),
            "vocab": list(vocab.idx_to_token),
            "vocab_hash": vocab.fingerprint(),
            "cutoffs": cutoffs,
        },
        resume=saved,
        progress=progress,
        on_epoch=on_epoch,
        on_progress=on_progress,
        clock_start=started,
        reserve_s=plan.reserve(),
        valid_windows=plan.valid_windows or None,
    )
    # measured by fit for the weights it returned (None when not, or with other rows than the reported figures')
    valid = result.valid if t.selection_rows == t.eval_batch_size else None
    calibration = None
    if calibrating and plan.valid_windows:
        windows = calibration_windows(len(data.valid), plan.valid_windows, len(vocab))
        with EvalBar("calibrate", progress, on_progress).running(window_tokens(windows)) as bar:
            calibration = calibrate(model, data.valid, windows, t.eval_batch_size, t.num_steps, device, bar)
        save_checkpoint(checkpoint, {**load_checkpoint(checkpoint), "temperature": calibration.temperature})
        # the reported valid figure is the calibrated model's, like the test's (the history keeps the trained one's):
        # the fit's own evaluation when it read the reported windows, else one more pass below
        valid = calibration.report if windows == plan.valid_windows else None
    if valid is None and plan.valid_windows:
        with EvalBar("valid", progress, on_progress).running(plan.valid_tokens) as bar:
            valid = evaluate_windows(model, data.valid, plan.valid_windows, t.eval_batch_size, t.num_steps,
                                     device, on_progress=bar)
    test = dynamic = None
    end = result.budget_end - EXIT_S if result.budget_end is not None else None
    if plan.test_windows:
        # the static figure comes first: the dynamic evaluation takes what time is left (its reserve is an
        # estimate; holding it back from the static test once cut that test to 90 k of 111 k tokens)
        with EvalBar("test", progress, on_progress).running(plan.test_tokens) as bar:
            test = evaluate_windows(model, data.test, plan.test_windows, t.eval_batch_size, t.num_steps,
                                    device, on_progress=bar, deadline=end)
    if plan.test_windows and t.dynamic_lr:
        with EvalBar("dynamic test", progress, on_progress).running(plan.test_tokens) as bar:
            dynamic = evaluate_dynamic(model, data.test, plan.test_windows, t.num_steps, t.dynamic_lr, device,
                                       t.precision, on_progress=bar, deadline=end)
    last = result.history[-1] if result.history else None
    summary = NeuralLMResult(
        name=cfg.model_name,
        model=m.kind,
        epochs=last.epoch if last else 0,
        steps=result.steps,
        stopped=result.stopped,
        best_epoch=result.best_epoch,
        train_ppl=last.train_ppl if last else None,
        valid_ppl=valid.ppl if valid else None,
        test_ppl=test.ppl if test else None,
        valid_nats=valid.nats_per_token if valid else None,
        test_nats=test.nats_per_token if test else None,
        unigram_valid_ppl=data.unigram(data.valid, plan.valid_windows) if valid else None,
        unigram_test_ppl=data.unigram(data.test, plan.test_windows) if test else None,
        tokens_per_s=result.tokens_per_s,
        params=count_parameters(model),
        vocab_size=len(vocab),
        device=str(device),
        wall_s=wall_before + time.perf_counter() - started,
        tokens=corpus.sizes(),
        oov={**{k: r.n_oov for k, r in (("valid", valid), ("test", test)) if r}, **corpus.oov()},
        checkpoint=str(checkpoint),
        softmax="adaptive" if cutoffs else "full",
        valid_eval_tokens=valid.n_tokens if valid else 0,
        test_eval_tokens=test.n_tokens if test else 0,
        valid_sampled=plan.valid_sampled,
        test_sampled=plan.test_sampled or (test is not None and test.n_tokens < plan.test_tokens),
        first_step_s=result.first_step_s,
        dynamic_test_ppl=dynamic.ppl if dynamic else None,
        dynamic_test_nats=dynamic.nats_per_token if dynamic else None,
        dynamic_test_eval_tokens=dynamic.n_tokens if dynamic else 0,
        dynamic_test_sampled=dynamic is not None and (plan.test_sampled or dynamic.n_tokens < plan.test_tokens),
        temperature=calibration.temperature if calibration else 1.0,
        calibration=calibration.to_dict() if calibration else None,
        valid=valid.to_dict() if valid else None,
        test=test.to_dict() if test else None,
        dynamic_test=dynamic.to_dict() if dynamic else None,
        history=[r.to_dict() for r in result.history],
        config=cfg.model_dump(mode="json"),
    )
    write_samples(model_dir, *lm_samples(model, vocab, data.train.read(0, 256), cfg.data.tokens))
    _write_results(Path(out_dir), model_dir, summary)
    return summary


def lm_samples(model: torch.nn.Module, vocab: Vocab, train_ids: np.ndarray | torch.Tensor,
               unit: str) -> tuple[list[Sample], str]:
    """Greedy and seeded-sampled continuations of the training text's first words, and any warning."""
    joiner = "" if unit == "char" else " "
    prefix = training_prefix(joiner.join(vocab.decode(train_ids[:256].tolist())), unit)
    what = "characters" if unit == "char" else "tokens"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        greedy = generate(model, vocab, prefix, SAMPLE_TOKENS, unit=unit)
        sampled = generate(model, vocab, prefix, SAMPLE_TOKENS, unit=unit, temperature=SAMPLE_TEMPERATURE, seed=0)
    samples = [Sample(f"greedy, {SAMPLE_TOKENS} {what}", prefix, greedy),
               Sample(f"sampled, temperature {SAMPLE_TEMPERATURE}, seed 0", prefix, sampled)]
    return samples, "; ".join(dict.fromkeys(str(w.message) for w in caught))


def _write_results(out_dir: Path, model_dir: Path, result: NeuralLMResult) -> None:
    """The training curve as CSV, then the result (written last) and the run's metrics.json entry."""
    columns = ["epoch", "steps", "lr", "train_ppl", "valid_ppl", "tokens_per_s", "seconds", "complete"]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(result.history)
    atomic_write_text(model_dir / "curve.csv", buf.getvalue())
    result.write(model_dir / NeuralLMResult.FILE)
    update_run_metrics(out_dir, "rnn_lm", result.summary(), result.name)
