"""`train_lm` runs and the `train-lm` / `generate` commands: files, JSON line, resume, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import torch

from seqpipe.cli import main
from seqpipe.eval.perplexity import evaluate_lm
from seqpipe.io import write_json
from seqpipe.samples import read_samples
from seqpipe.train.checkpoint import load_checkpoint, save_checkpoint
from seqpipe.train.config import LMDataConfig, LMModelConfig, LMRunConfig, LMTrainConfig
from seqpipe.train.data import build_corpus
from seqpipe.train.generate import load_model
from seqpipe.train.run import train_lm

TINY = ["--hidden", "16", "--max-tokens", "3000", "--batch", "8", "--steps", "10", "--threads", "1"]


def cli(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


def test_train_lm_json_line_generate_and_resume(tmp_path, capsys, shared_data):
    # the real console entry point once, in a subprocess, as a user runs it
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "seqpipe",
            "train-lm",
            "timemachine",
            "--model",
            "gru",
            "--epochs",
            "2",
            "--out",
            str(tmp_path),
            "--json",
            *TINY,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert {"model", "epochs", "train_ppl", "valid_ppl", "test_ppl", "tokens_per_s"} <= summary.keys()
    assert summary["model"] == "gru" and summary["epochs"] == 2 and summary["tokens_per_s"] > 0
    assert summary["valid_ppl"] < 28 and summary["tokens"] == {"train": 3000, "valid": 8496, "test": 7334}
    ckpt = tmp_path / "models" / "gru" / "checkpoint.pt"
    assert {p.name for p in ckpt.parent.iterdir()} >= {
        "checkpoint.pt",
        "config.json",
        "metrics.json",
        "curve.csv",
        "vocab.parquet",
    }

    code, out, _ = cli(capsys, "generate", str(ckpt), "--prefix", "time traveller", "--n", "20")
    assert (
        code == 0 and out.endswith("\n") and out.startswith("time traveller") and len(out.rstrip("\n")) == 34
    )

    code, out, _ = cli(capsys, "train-lm", "--resume", str(ckpt), "--epochs", "3", "--json", "--threads", "1")
    resumed = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and resumed["epochs"] == 3 and resumed["steps"] > summary["steps"]
    history = json.loads((ckpt.parent / "metrics.json").read_text())["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[1]["train_ppl"] == summary["train_ppl"]  # the first run's epochs are kept as they were


@pytest.mark.parametrize(
    "args,message",
    [
        (["train-lm", "timemachine", "--model", "transformer"], "model.kind"),
        (["train-lm", "timemachine", "--split", "0.9,0.3"], "split"),
        (["train-lm"], "give a corpus source"),
        (["generate", "/nonexistent/checkpoint.pt"], "no checkpoint"),
    ],
)
def test_errors_are_one_line_and_exit_2(capsys, args, message):
    code, _, err = cli(capsys, *args)
    assert code == 2 and err.startswith("seqpipe: error: ") and message in err and err.count("\n") == 1


def tiny_config(**train) -> LMRunConfig:
    return LMRunConfig(
        data=LMDataConfig(max_tokens=2000),
        model=LMModelConfig(kind="rnn", hidden=8),
        train=LMTrainConfig(**{"batch_size": 8, "num_steps": 10, "epochs": 1, "threads": 1, **train}),
    )


def test_run_writes_its_files_and_shares_the_run_metrics(tmp_path):
    write_json(tmp_path / "metrics.json", {"ngram": {"order": 3}}, kind="run-metrics")
    summary = train_lm(tiny_config(), tmp_path)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["ngram"] == {"order": 3} and metrics["rnn_lm"]["rnn"]["valid_ppl"] == summary.valid_ppl
    config = json.loads((tmp_path / "models/rnn/config.json").read_text())
    assert config["kind"] == "lm-config" and config["schema_version"] == 1
    assert LMRunConfig.model_validate(config["config"]) == tiny_config()
    assert (
        (tmp_path / "models/rnn/curve.csv").read_text().splitlines()[0].startswith("epoch,steps,lr,train_ppl")
    )
    assert 15 < summary.unigram_valid_ppl < 20 and summary.test_ppl is not None and summary.epochs == 1
    model, _, cfg = load_model(summary.checkpoint)  # the checkpoint holds the weights that were scored
    again = evaluate_lm(model, build_corpus(cfg.data).valid, cfg.train.eval_batch_size, cfg.train.num_steps)
    assert again.ppl == pytest.approx(summary.valid_ppl, rel=1e-6)  # calibrated: the fit's float64 sums
    assert summary.temperature == model.temperature != 1.0


def test_resume_refuses_other_settings_and_a_changed_vocabulary(tmp_path):
    summary = train_lm(tiny_config(), tmp_path)
    with pytest.raises(ValueError, match="cannot change lr"):
        train_lm(tiny_config(lr=0.5), tmp_path, resume=summary.checkpoint)
    with pytest.raises(ValueError, match="model config"):
        train_lm(
            tiny_config().model_copy(update={"model": LMModelConfig(kind="gru", hidden=8)}),
            tmp_path,
            resume=summary.checkpoint,
        )
    ckpt = load_checkpoint(summary.checkpoint)
    ckpt["vocab_hash"] = "0" * 16
    save_checkpoint(tmp_path / "changed.pt", {k: v for k, v in ckpt.items() if k != "kind"})
    with pytest.raises(ValueError, match="another vocabulary"):
        train_lm(tiny_config(epochs=2), tmp_path, resume=tmp_path / "changed.pt")
    assert torch.get_num_threads() == 1


def test_generate_reads_the_prefix_as_the_model_was_trained(tmp_path, capsys):
    # issue 14 row 3: '阿Q' on a unicode model warned that 'Q' is unknown although 'q' is in the vocabulary
    corpus = tmp_path / "aq.txt"
    corpus.write_text("阿Q正傳。阿Q的名字\n" * 40, encoding="utf-8")
    cfg = LMRunConfig(
        data=LMDataConfig(sources=(str(corpus),), normalize="unicode", tokens="char", split="none"),
        model=LMModelConfig(kind="rnn", hidden=8),
        train=LMTrainConfig(batch_size=2, num_steps=5, epochs=1, threads=1),
    )
    summary = train_lm(cfg, tmp_path / "run")
    code, out, err = cli(capsys, "generate", summary.checkpoint, "--prefix", "阿Q\u3000", "--n", "3")
    assert code == 0 and err == "" and out.startswith("阿Q\u3000") and len(out.rstrip("\n")) == 6


@pytest.mark.parametrize(
    "option,value,words",
    [("--n", "-3", "--n -3: the number of tokens"), ("--temperature", "-1", "--temperature -1.0: must be 0"),
     ("--top-k", "0", "--top-k 0: must be 1 or more")],
)
def test_each_bad_generate_option_is_named_with_its_range(capsys, tmp_path, option, value, words):
    # issue 14 row 12: the three options shared one message (and the checkpoint was read first)
    code, _, err = cli(capsys, "generate", str(tmp_path / "checkpoint.pt"), option, value)
    assert code == 2 and err == f"seqpipe: error: {err.removeprefix('seqpipe: error: ')}"
    assert words in err and err.count("\n") == 1


def test_resume_names_the_model_fields_that_differ(tmp_path):
    # issue 14 row 11: 'trained with another model config' did not say which field
    summary = train_lm(tiny_config(), tmp_path)
    other = tiny_config().model_copy(update={"model": LMModelConfig(kind="gru", hidden=16)})
    with pytest.raises(ValueError, match="another model config") as info:
        train_lm(other, tmp_path, resume=summary.checkpoint)
    assert "model: rnn ≠ gru" in str(info.value) and "hidden: 8 ≠ 16" in str(info.value)


def test_resume_with_epochs_replaces_a_spent_time_budget_and_completes_the_cut_epoch(tmp_path, capsys):
    # issue 14 row 2: after --minutes, `--resume --epochs N` ran one step per epoch (the budget carried over)
    first = train_lm(tiny_config(epochs=None, minutes=1e-6), tmp_path)
    assert first.stopped == "time-budget" and first.steps == 1
    elapsed = load_checkpoint(first.checkpoint)["loop"]["elapsed"]
    code, out, _ = cli(capsys, "train-lm", "--resume", first.checkpoint, "--epochs", "3", "--json")
    resumed = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and resumed["epochs"] == 3 and resumed["stopped"] == "epochs"
    history = json.loads((tmp_path / "models" / "rnn" / "metrics.json").read_text())["history"]
    per_epoch = [b["steps"] - a for a, b in zip([0] + [h["steps"] for h in history], history)]
    assert [h["epoch"] for h in history] == [1, 2, 3] and all(h["complete"] for h in history)
    assert len(set(per_epoch)) == 1 and per_epoch[0] > 1  # the cut epoch was finished, not repeated
    resumed_ckpt = load_checkpoint(first.checkpoint)
    assert resumed_ckpt["config"]["train"]["minutes"] is None
    assert resumed_ckpt["loop"]["elapsed"] > elapsed and resumed["wall_s"] > elapsed  # wall time still adds up


CHINESE = "第一回　灵根育孕源流出　心性修持大道生\n诗曰：混沌未分天地乱，茫茫渺渺无人见。\n" * 40


def test_samples_continue_the_models_own_training_text(tmp_path):
    (tmp_path / "xyj.txt").write_text(CHINESE, encoding="utf-8")
    cfg = LMRunConfig(data=LMDataConfig(sources=(str(tmp_path / "xyj.txt"),), normalize="unicode", split="0.8,0.1"),
                      model=LMModelConfig(kind="gru", hidden=8),
                      train=LMTrainConfig(batch_size=4, num_steps=8, epochs=1, threads=1))
    summary = train_lm(cfg, tmp_path / "run")
    samples, _ = read_samples(tmp_path / "run" / "models" / "gru")
    assert [s.prefix for s in samples] == ["第一回 灵根育孕源流出"] * 2  # the corpus' first words, not the book's
    assert [s.how for s in samples] == ["greedy, 50 characters", "sampled, temperature 0.8, seed 0"]
    assert all(s.text.startswith(s.prefix) and len(s.continuation) == 50 for s in samples)
    assert set(samples[1].continuation) <= set(CHINESE.replace("　", " ").replace("\n", "")) - {"：", "，", "。"}
    model, vocab, _ = load_model(summary.checkpoint)  # the saved text is what the saved model generates
    from seqpipe.train.generate import generate

    assert samples[0].text == generate(model, vocab, samples[0].prefix, 50)


def test_wall_time_adds_up_across_resumes(tmp_path):
    first = train_lm(tiny_config(), tmp_path)
    ckpt = load_checkpoint(first.checkpoint)
    assert 0 < ckpt["loop"]["elapsed"] <= first.wall_s
    ckpt["loop"]["elapsed"] = 1000.0  # as if the first run had trained for 1,000 s
    save_checkpoint(tmp_path / "long.pt", {k: v for k, v in ckpt.items() if k != "kind"})
    started = time.perf_counter()
    second = train_lm(tiny_config(epochs=2), tmp_path, resume=tmp_path / "long.pt")
    own = time.perf_counter() - started
    assert 1000 < second.wall_s <= 1000 + own  # the earlier run's time plus this one's
    assert json.loads((tmp_path / "models/rnn/metrics.json").read_text())["wall_s"] == second.wall_s
