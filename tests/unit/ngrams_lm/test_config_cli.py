"""NgramLMConfig validation, `seqpipe lm` output and errors (one line, exit status 2)."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from seqpipe.cli import main
from seqpipe.errors import one_line
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.ngram_lm.stage import estimate_sources, run_and_save


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": 0}, "order 0: choose an order between 1 and 5"),
        ({"order": 6}, "order 6: choose an order between 1 and 5"),
        ({"k": 0}, "k=0.0: the add-k pseudo-count must be a positive number"),
        ({"k": -1.5}, "k=-1.5"),
        ({"split": "1.0"}, "split '1.0'"),
        ({"split": "0.9,0.2"}, "summing to less than 1"),
        ({"smoothing": "kn"}, "smoothing"),
        ({"boundary": "document"}, "boundary"),
        ({"discount_fallback": (0.5, 3.0, 1.5)}, "D2=3.0"),
        ({"orders": [2]}, "orders"),
    ],
)
def test_bad_parameters_give_one_line_errors(kwargs, message):
    with pytest.raises(ValidationError) as info:
        NgramLMConfig(**kwargs)
    text = one_line(info.value)
    assert message in text and "\n" not in text


def test_config_defaults_and_split_forms():
    c = NgramLMConfig()
    assert (c.order, c.smoothing, c.k, c.split, c.boundary, c.discount_fallback) == (3, "mkn", 1.0, (0.9,), "line", (0.5, 1.0, 1.5))
    assert NgramLMConfig(split="0.8,0.1").split == (0.8, 0.1)
    assert NgramLMConfig(split=0.5).split == (0.5,)


def test_empty_training_text_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n   \n")
    with pytest.raises(ValueError, match="corpus 'empty': no tokens after"):
        estimate_sources([str(empty)], NgramLMConfig())
    punct = tmp_path / "punct.txt"
    punct.write_text("\n".join(["!!!"] * 9 + ["word"]))
    with pytest.raises(ValueError, match="training lines hold no tokens"):
        estimate_sources([str(punct)], NgramLMConfig())


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(list(argv))
    out = capsys.readouterr()
    return info.value.code, out.out, out.err


def test_cli_prints_query_summary_and_json_last(capsys, shared_data, tmp_path):
    arpa = tmp_path / "tm.arpa"
    code, out, _ = _cli(capsys, "lm", "timemachine", "--order", "3", "--smoothing", "mkn", "--arpa", str(arpa),
                        "--generate", "2", "--seed", "1", "--json")
    assert code == 0
    lines = out.splitlines()
    assert "Perplexity including OOVs:\t258.422" in lines and "Perplexity excluding OOVs:\t174.508" in lines
    assert "OOVs:\t248" in lines and "Tokens:\t3414" in lines
    payload = json.loads(lines[-1])
    assert {"order", "smoothing", "ppl_incl_oov", "ppl_excl_oov", "oovs", "tokens"} <= payload.keys()
    assert (payload["order"], payload["smoothing"], payload["oovs"], payload["tokens"]) == (3, "mkn", 248, 3414)
    assert arpa.is_file() and payload["arpa"] == str(arpa) and len(payload["samples"]) == 2


def test_cli_reports_fallback_and_infinite_mle(capsys, shared_data):
    _, out, _ = _cli(capsys, "lm", "timemachine", "--order", "5")
    assert "order 5: discounts fell back to 0.5 1 1.5" in out
    _, out, _ = _cli(capsys, "lm", "timemachine", "--order", "2", "--smoothing", "mle", "--json")
    payload = json.loads(out.splitlines()[-1])
    assert payload["ppl_incl_oov"] is None and payload["zero_prob_tokens"] > payload["oovs"] == 248
    assert "Perplexity including OOVs:\tinf (" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--order", "6"], "order 6: choose an order between 1 and 5"),
        (["--smoothing", "addk", "--k", "0"], "k=0.0"),
        (["--smoothing", "addk", "--arpa", "x.arpa"], "--arpa needs a back-off model"),
        (["--tokens", "char", "--order", "2", "--arpa", "x.arpa"], "ARPA separates words by whitespace"),
    ],
)
def test_cli_errors_are_one_line_with_status_2(capsys, shared_data, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = _cli(capsys, "lm", "timemachine", *argv)
    assert code == 2
    assert err.startswith("seqpipe: error: ") and message in err and err.count("\n") == 1


def test_save_run_writes_versioned_metrics_and_arpa(shared_data, tmp_path):
    summary = run_and_save(NgramLMConfig(order=2), tmp_path, sources=["timemachine"])
    model_dir = tmp_path / "models" / "ngram-mkn-o2"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert metrics["kind"] == "ngram-lm-metrics" and metrics["schema_version"] >= 1
    assert (model_dir / "lm.arpa").is_file() and summary.arpa == str(model_dir / "lm.arpa")
    run_metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert run_metrics["ngram_lm"]["ngram-mkn-o2"]["ppl_incl_oov"] == pytest.approx(265.955, rel=1e-5)


def test_save_run_writes_samples_that_continue_the_training_text(shared_data, tmp_path):
    from reference_lm.lm_eval import run_lm

    from seqpipe.samples import read_samples

    summary = run_and_save(NgramLMConfig(order=3), tmp_path, sources=["timemachine"])
    samples, _ = read_samples(tmp_path / "models" / "ngram-mkn-o3")
    assert summary.samples == str(tmp_path / "models" / "ngram-mkn-o3" / "samples.json")
    assert [s.prefix for s in samples] == ["the time"] * 3  # "The Time Machine, by H. G. Wells": its first words
    assert [s.how for s in samples] == [f"sampled, seed {i}, to </s> or 20 tokens" for i in range(3)]
    assert len({s.text for s in samples}) == 3 and all(s.text.startswith("the time ") for s in samples)
    words = set(run_lm("timemachine", NgramLMConfig(order=3)).model.vocab.idx_to_token)
    assert all(set(s.text.split()) <= words for s in samples)  # every sampled word is a training word
    again = run_and_save(NgramLMConfig(order=3), tmp_path / "again", sources=["timemachine"])
    assert read_samples(tmp_path / "again" / "models" / "ngram-mkn-o3")[0] == samples and again.name == summary.name
    (tmp_path / "xyj.txt").write_text("第一回　灵根育孕源流出\n混沌未分天地乱\n" * 30, encoding="utf-8")
    run_and_save(NgramLMConfig(order=3, normalize="unicode", tokens="char"), tmp_path, sources=[str(tmp_path / "xyj.txt")])
    samples, _ = read_samples(tmp_path / "models" / "ngram-mkn-o3-char")
    assert {s.prefix for s in samples} == {"第一回 灵根育孕源流出"}
    assert all(s.text.startswith("第一回 灵根育孕源流出") and set(s.continuation) <= set("第一回 灵根育孕源流出混沌未分天地乱")
               for s in samples)
