"""CLI options come from the config fields: every field is an option, with its description as help and the
config's default shown; a field added to a config appears without any mapping; bad values are one line."""

from __future__ import annotations

from typing import Any, Literal

import pytest
import typer
from pydantic import BaseModel, ByteSize, Field
from typer.testing import CliRunner

from seqpipe.cli import app, main
from seqpipe.cli.options import with_options
from seqpipe.config import CorpusConfig, FrozenConfig, NgramConfig, Size, Split, TextConfig, cli
from seqpipe.fields import fields_of, nest
from seqpipe.ngram_lm.config import NgramLMConfig
from seqpipe.series.config import SeriesConfig
from seqpipe.train.config import LMRunConfig
from seqpipe.train.forecast_config import ForecastConfig


def option_names(model: type[BaseModel], skip: set[str] = frozenset(), under: str = "") -> set[str]:
    """The oracle: `--name` of every leaf field, read off `model_fields` (the `cli` alias where one is set)."""
    names = set()
    for name, info in model.model_fields.items():
        path = f"{under}{name}"
        if path in skip:
            continue
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            names |= option_names(info.annotation, skip, f"{path}.")
        else:
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            names.add("--" + extra.get("cli", name).replace("_", "-"))
    return names


def click_options(command: str) -> dict[str, Any]:
    """The click parameters of a `seqpipe` command by their first option name."""
    group = typer.main.get_command(app)
    return {p.opts[0]: p for p in group.commands[command].params if p.opts and p.opts[0].startswith("--")}


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("train-lm", option_names(LMRunConfig, {"data.sources"})),
        ("lm", option_names(NgramLMConfig)),
        ("stats", option_names(CorpusConfig, {"sources"}) | option_names(TextConfig) | option_names(NgramConfig)),
        ("forecast", option_names(ForecastConfig, {"series"})
         | option_names(SeriesConfig, {"source", "path", "seed"})),
    ],
)
def test_every_config_field_is_an_option(command, expected):
    assert len(expected) >= 8
    assert expected <= set(click_options(command))


def test_options_show_the_configs_defaults_and_descriptions():
    opts = click_options("train-lm")
    fields = {**LMRunConfig.model_fields["model"].annotation.model_fields,
              **LMRunConfig.model_fields["train"].annotation.model_fields}
    assert opts["--hidden"].show_default == str(fields["hidden"].default) == "256"
    assert opts["--steps"].show_default == str(fields["num_steps"].default) == "35"
    assert opts["--split"].show_default == "0.9,0.05"
    assert opts["--model"].show_default == "lstm" and "gru" in opts["--model"].help
    assert fields["num_steps"].description in opts["--steps"].help
    assert opts["--minutes"].show_default is False  # no default: nothing shown
    assert opts["--iter"].name == "iter"  # the option names of old stay
    stats = click_options("stats")
    assert stats["--blocksize"].show_default == "16MiB" and stats["--memory-limit"].show_default == "4GiB"
    assert stats["--orders"].show_default == "1,2,3"
    assert stats["--tokens"].type_descriptor.annotation == Literal["char", "word"]  # typer makes it a choice


def test_help_text_shows_the_defaults(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "250")
    with pytest.raises(SystemExit):
        main(["lm", "--help"])
    lines = capsys.readouterr().out.splitlines()
    order = next(line for line in lines if "--order " in line)
    assert "n-gram order, 1..5" in order and "[default: (3)]" in order
    assert "[default: (0.5,1.0,1.5)]" in next(line for line in lines if "--discount-fallback" in line)


class Toy(FrozenConfig):
    """A throwaway config: every kind of field the generator knows."""

    width: int = Field(7, ge=1, description="how wide")
    mode: Literal["a", "b"] = Field("a", description="which mode")
    fast: bool = Field(False, description="go fast")
    sizes: tuple[int, ...] = Field((1, 2), description="sizes to try")
    memory: Size = Field(ByteSize(2**30), description="memory per worker")
    split: Split = Field((0.9,), description="train fraction")
    num_things: int = Field(3, description="things", json_schema_extra=cli("things"))
    note: str | None = Field(None, description="a free note")


def toy_app(model: type[BaseModel], seen: dict[str, Any]) -> typer.Typer:
    """An app whose one command validates `model` from the options given."""
    toy = typer.Typer()
    found = fields_of(model)

    @toy.command()
    @with_options(found)
    def run(given: dict[str, Any] | None = None) -> None:
        seen["config"] = model.model_validate(nest(given or {}, found))

    return toy


def test_a_new_config_field_becomes_an_option_with_help_default_and_parsing():
    seen: dict[str, Any] = {}
    toy, runner = toy_app(Toy, seen), CliRunner()
    help_text = runner.invoke(toy, ["--help"], env={"COLUMNS": "250"}).output
    for flag, words in [("--width", "how wide"), ("--things", "things"), ("--memory", "memory per worker"),
                        ("--fast", "go fast"), ("--note", "a free note")]:
        assert words in next(line for line in help_text.splitlines() if flag in line), flag
    assert "[default: (1GiB)]" in help_text and "[default: (1,2)]" in help_text
    assert runner.invoke(toy, []).exit_code == 0 and seen["config"] == Toy()
    result = runner.invoke(toy, ["--width", "9", "--mode", "b", "--fast", "--sizes", "3, 4", "--memory", "2G",
                                 "--split", "0.8,0.1", "--things", "5", "--note", "hi"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == Toy(width=9, mode="b", fast=True, sizes=(3, 4), memory=2 * 10**9, split=(0.8, 0.1),
                                 num_things=5, note="hi")
    assert runner.invoke(toy, ["--mode", "c"]).exit_code == 2  # not a choice


def test_a_field_added_to_a_real_config_appears_in_its_command():
    class MoreLM(NgramLMConfig):
        cutoff: int = Field(2, ge=0, description="drop n-grams seen fewer times")

    seen: dict[str, Any] = {}
    result = CliRunner().invoke(toy_app(MoreLM, seen), ["--cutoff", "4", "--order", "2"])
    assert result.exit_code == 0, result.output
    assert seen["config"] == MoreLM(cutoff=4, order=2)
    assert {"--cutoff", "--order", "--discount-fallback"} <= option_names(MoreLM)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["train-lm", "timemachine", "--hidden", "0"], "greater than 0"),
        (["train-lm", "timemachine", "--tokens", "bytes"], "'--tokens'"),
        (["train-lm", "timemachine", "--split", "0.9,0.2"], "summing to less than 1"),
        (["train-lm", "timemachine", "--model", "gru,transformer"], "grid trial transformer"),
        (["stats", "timemachine", "--memory-limit", "lots"], "memory_limit"),
        (["lm", "timemachine", "--split", "none"], "split none"),
    ],
)
def test_invalid_values_are_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.startswith("seqpipe: error: ") and err.count("\n") == 1, err
    assert message in err, err


def test_options_left_out_keep_the_resumed_configs_values():
    from seqpipe.cli.train_lm import build_config

    saved = LMRunConfig.model_validate({"model": {"kind": "gru", "hidden": 64},
                                        "train": {"num_steps": 10, "epochs": None, "minutes": 5.0}}).model_dump()
    cfg = build_config([], None, {"lr": "0.5"}, saved)
    assert (cfg.model.kind, cfg.model.hidden, cfg.train.num_steps, cfg.train.lr) == ("gru", 64, 10, 0.5)
    assert cfg.train.minutes == 5.0
    cfg = build_config([], None, {"epochs": 3, "steps": "20"}, saved)  # the stopping rule is given whole
    assert (cfg.train.epochs, cfg.train.minutes, cfg.train.num_steps, cfg.model.hidden) == (3, None, 20, 64)
