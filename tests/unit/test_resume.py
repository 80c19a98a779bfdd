"""Stage keys and records (`seqpipe.resume`): what makes a rerun reuse a stage, and what does not."""

from __future__ import annotations

from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.resume import finish, reuse, run_folder, stage_key


def test_keys_follow_config_inputs_and_stage():
    base = stage_key("ngram_lm", {"lm": NgramLMConfig(order=3)}, "snap-a")
    assert base == stage_key("ngram_lm", {"lm": NgramLMConfig(order=3)}, "snap-a")
    assert base != stage_key("ngram_lm", {"lm": NgramLMConfig(order=4)}, "snap-a")
    assert base != stage_key("ngram_lm", {"lm": NgramLMConfig(order=3)}, "snap-b")  # a new snapshot
    assert base != stage_key("rnn_lm", {"lm": NgramLMConfig(order=3)}, "snap-a")


def test_a_stage_whose_outputs_are_gone_runs_again(tmp_path):
    model = tmp_path / "models" / "m" / "metrics.json"
    model.parent.mkdir(parents=True)
    model.write_text("{}")
    finish(tmp_path, "ngram_lm", "k1", [{"metrics": str(model), "elsewhere": "/etc/hostname"}])
    assert reuse(tmp_path, "ngram_lm", "k1") == [{"metrics": str(model), "elsewhere": "/etc/hostname"}]
    model.unlink()
    assert reuse(tmp_path, "ngram_lm", "k1") is None
    (tmp_path / "stages" / "rnn_lm.json").parent.mkdir(exist_ok=True)
    (tmp_path / "stages" / "rnn_lm.json").write_text("{half a record")  # a crash mid-write: not reused
    assert reuse(tmp_path, "rnn_lm", "k1") is None


def test_a_key_finds_its_run_folder_again(tmp_path):
    run_id, folder, resumed = run_folder(tmp_path, "key-1")
    assert not resumed
    folder.mkdir()
    assert run_folder(tmp_path, "key-1") == (run_id, folder, True)
    assert run_folder(tmp_path, "key-2")[0] != run_id
