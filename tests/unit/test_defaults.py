"""data/pipeline.yaml is the one place the pipeline's defaults are written: the flows take theirs from it."""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest

from seqpipe import defaults
from seqpipe.defaults import PipelineDefaults, defaults_path, pipeline_defaults

ROOT = Path(__file__).resolve().parents[2]
FLOWS = {"flows.pipeline": "pipeline", "flows.corpus_refresh": "corpus_refresh", "flows.corpus_stats": "corpus_stats"}


def flow_defaults(module: str) -> dict[str, object]:
    """The defaults of a flow's signature, from a fresh import of its module."""
    fn = getattr(importlib.reload(importlib.import_module(module)), FLOWS[module]).fn
    return {name: p.default for name, p in inspect.signature(fn).parameters.items()}


@pytest.fixture
def other_defaults(tmp_path, monkeypatch):
    """A defaults file with other values, read by freshly imported flows; the real one is restored after."""
    text = (ROOT / "data" / "pipeline.yaml").read_text(encoding="utf-8")
    text = text.replace("lm_orders: [2, 3, 4]", "lm_orders: [5]").replace("epochs: 10", "epochs: 2")
    text = text.replace("corpus: {sources: [timemachine]}", "corpus: {sources: [xiyouji]}")
    (tmp_path / "pipeline.yaml").write_text(text, encoding="utf-8")
    monkeypatch.setattr(defaults, "defaults_path", lambda: tmp_path / "pipeline.yaml")
    pipeline_defaults.cache_clear()
    yield pipeline_defaults()
    monkeypatch.undo()
    pipeline_defaults.cache_clear()
    for module in FLOWS:
        importlib.reload(importlib.import_module(module))


def test_the_installed_package_reads_the_checkouts_file():
    assert defaults_path().resolve() == (ROOT / "data" / "pipeline.yaml").resolve()


def test_every_pipeline_parameter_is_in_the_file():
    assert list(flow_defaults("flows.pipeline")) == list(PipelineDefaults.model_fields)


def test_the_flows_defaults_come_from_the_file(other_defaults):
    assert other_defaults.lm_orders == [5] and other_defaults.rnn_train.epochs == 2
    pipeline = flow_defaults("flows.pipeline")
    assert pipeline == dict(other_defaults)
    for module in ("flows.corpus_refresh", "flows.corpus_stats"):  # they count the pipeline's corpus
        found = flow_defaults(module)
        assert (found["corpus"], found["text"], found["ngram"]) == (other_defaults.corpus, other_defaults.text,
                                                                    other_defaults.ngram)
        assert found["corpus"].sources == ("xiyouji",)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("lm_orders: [2, 3, 4]", "lm_order: [2, 3, 4]"), "lm_order"),  # a misspelt parameter
        (("epochs: 10", "epochs: 0"), "epochs"),  # a value out of range
        (("char_lm_orders: [3, 5]\n", ""), "char_lm_orders"),  # a parameter left out: no second default
        (("text: {}", "text: !!python/object/apply:os.system [echo]"), "not plain YAML"),
    ],
)
def test_a_wrong_file_is_one_error_naming_it(tmp_path, edit, message):
    path = tmp_path / "pipeline.yaml"
    path.write_text((ROOT / "data" / "pipeline.yaml").read_text(encoding="utf-8").replace(*edit), encoding="utf-8")
    with pytest.raises(ValueError, match=message) as caught:
        pipeline_defaults(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
