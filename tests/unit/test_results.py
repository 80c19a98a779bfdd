"""Stage results (`seqpipe.results`): each model survives its own file, and a bad file is one line naming it."""

from __future__ import annotations

import json
import math

import pytest

from seqpipe import SCHEMA_VERSION
from seqpipe.results import (
    CorpusStatsResult,
    ErrorAt,
    NeuralLMResult,
    NgramLMResult,
    ReportResult,
    ResultError,
    SeriesEntry,
    SeriesForecastResult,
    read_result,
)
from seqpipe.resume import finish, reuse

EXAMPLES = [
    CorpusStatsResult(snapshot="/out/corpus/tm/snapshots/r1", run_id="r1", corpus="tm",
                      totals={1: {"ngrams": 10, "distinct": 4}, 2: {"ngrams": 9, "distinct": 7}}, vocab_size=4,
                      skipped=[{"uri": "b.bin", "reason": "binary"}], changes={"added": ["a.txt"]},
                      timings={"count": 0.5}, config={"text": {"normalize": "d2l"}},
                      diff={"run_a": "r0", "run_b": "r1"}),
    NgramLMResult(name="ngram-mkn-o3", order=3, smoothing="mkn", sources=["timemachine"], ppl_incl_oov=258.4,
                  ppl_excl_oov=174.5, oovs=12, tokens=3000, nll=16000.5, split={"train": {"lines": 9}},
                  discounts={"1": [0.5, 1.0, 1.5]}, estimation={"seconds": 1.5}, arpa="/r/lm.arpa"),
    NeuralLMResult(name="gru", model="gru", epochs=2, steps=40, stopped="epochs", valid_ppl=9.5, test_ppl=9.75,
                   tokens={"train": 100}, history=[{"epoch": 1, "valid_ppl": 11.0}], config={"model": {"kind": "gru"}},
                   test={"n_tokens": 50, "n_oov": 0}),
    SeriesForecastResult(config={"tau": 4}, series={"name": "sine", "n_points": 1000},
                         models={"mlp": SeriesEntry(k_step={1: ErrorAt(mse=0.1, mae=0.2, n=5)}, epoch_losses=[0.3],
                                                    history=4)},
                         baselines={"last_value": SeriesEntry(k_step={1: ErrorAt(mse=0.5, mae=0.6, n=5)})},
                         best_by_k={1: {"model": "mlp", "mse": 0.1, "beats_last_value": True}}),
    ReportResult(html="report.html", markdown="report.md", plots=["plots/zipf.png"], stages={"series": "ok"},
                 lm_perplexity=[{"name": "gru", "ppl_incl": 9.75}], render_s=0.25),
]


@pytest.mark.parametrize("result", EXAMPLES, ids=lambda r: type(r).__name__)
def test_every_result_reads_back_as_written(result, tmp_path):
    path = result.write(tmp_path / "sub" / type(result).FILE)
    raw = json.loads(path.read_text())  # the file itself, not the model, as the independent view
    assert raw["kind"] == type(result).KIND and raw["schema_version"] == SCHEMA_VERSION
    again = type(result).read(path)
    assert again == result and again.folder == tmp_path / "sub"
    assert read_result(path, NgramLMResult, NeuralLMResult, type(result)) == result  # chosen by its kind
    assert not list((tmp_path / "sub").glob(".*.tmp"))  # written atomically


def test_an_infinite_perplexity_is_null_in_the_file_and_inf_when_read(tmp_path):
    result = NgramLMResult(name="mle", order=2, smoothing="mle", ppl_incl_oov=math.inf, ppl_excl_oov=3.0, oovs=0,
                           tokens=5, zero_prob_tokens=2)
    path = result.write(tmp_path / "metrics.json")
    assert json.loads(path.read_text())["ppl_incl_oov"] is None and result.to_dict()["ppl_incl_oov"] is None
    assert NgramLMResult.read(path).ppl_incl_oov == math.inf


def test_a_neural_summary_leaves_out_the_history_and_evaluations():
    summary = EXAMPLES[2].summary()
    assert summary["test_ppl"] == 9.75 and not {"history", "valid", "test", "config", "kind"} & set(summary)


def _one_line(exc: pytest.ExceptionInfo, path) -> str:
    message = str(exc.value)
    assert "\n" not in message and message.startswith(f"{path}: ")
    return message


@pytest.mark.parametrize(("change", "says"), [
    (lambda d: {**d, "schema_version": SCHEMA_VERSION + 1}, f"schema_version {SCHEMA_VERSION + 1}; this seqpipe reads"),
    (lambda d: {k: v for k, v in d.items() if k != "ppl_incl_oov"}, "ppl_incl_oov: Field required"),
    (lambda d: {**d, "order": "three"}, "order: Input should be a valid integer"),
    (lambda d: {**d, "kind": "lm-metrics"}, "holds a 'lm-metrics' result, not 'ngram-lm-metrics'"),
])
def test_a_bad_result_file_is_one_line_naming_it(tmp_path, change, says):
    path = EXAMPLES[1].write(tmp_path / "metrics.json")
    path.write_text(json.dumps(change(json.loads(path.read_text()))))
    with pytest.raises(ResultError) as exc:
        NgramLMResult.read(path)
    assert says in _one_line(exc, path)


def test_a_missing_or_broken_result_file_is_one_line_naming_it(tmp_path):
    with pytest.raises(ResultError) as exc:
        SeriesForecastResult.read(tmp_path / "metrics.json")
    assert "missing" in _one_line(exc, tmp_path / "metrics.json")
    (tmp_path / "metrics.json").write_text("{ half")
    with pytest.raises(ResultError) as exc:
        read_result(tmp_path / "metrics.json", NgramLMResult, NeuralLMResult)
    assert "not JSON" in _one_line(exc, tmp_path / "metrics.json")
    EXAMPLES[4].write(tmp_path / "metrics.json")
    with pytest.raises(ResultError) as exc:
        read_result(tmp_path / "metrics.json", NgramLMResult, NeuralLMResult)
    assert "holds a 'run-report' result, not 'ngram-lm-metrics' or 'lm-metrics'" in _one_line(exc, tmp_path / "metrics.json")


def test_a_stage_record_of_results_checks_the_files_they_name(tmp_path):
    arpa = tmp_path / "models" / "m" / "lm.arpa"
    arpa.parent.mkdir(parents=True)
    arpa.write_text("\\data\\\n")
    result = EXAMPLES[1].model_copy(update={"arpa": str(arpa)})
    finish(tmp_path, "ngram_lm", "k1", [result])
    assert NgramLMResult.model_validate(reuse(tmp_path, "ngram_lm", "k1")[0]).model_dump() == result.model_dump()
    arpa.unlink()  # an output the result names is gone: the stage runs again
    assert reuse(tmp_path, "ngram_lm", "k1") is None
