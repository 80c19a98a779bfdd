"""The language-model tables: one test-perplexity table for every n-gram and neural model, then details.

Every row states its test set (corpus, token unit, held-out range) as a letter; perplexities compare
only within one test set. OOV handling is stated per row, as KenLM's `query` reports it: perplexity
including and excluding OOV tokens, with their count, next to the uniform (|V|) and unigram baselines.
"""

from __future__ import annotations

from typing import Any

from seqpipe.report import reference as ref
from seqpipe.report.collect import RunData
from seqpipe.report.tables import Column, Table
from seqpipe.results import NeuralLMResult, NgramLMResult
from seqpipe.text.split import parse_fractions

SMOOTHING = {"mkn": "MKN", "mle": "MLE", "addk": "add-k"}

LM_NOTE = (
    "Perplexity = exp(total NLL / scored tokens), natural log, token-weighted over the whole test range. "
    "n-gram: words plus one </s> per line are scored; test words missing from the training vocabulary are "
    "scored as <unk> (incl. OOV) or left out (excl. OOV), as KenLM's query reports. Neural: the vocabulary "
    "is built from the training range; held-out tokens outside it read as <unk> and count as OOV targets; "
    "excl. OOV drops them. Uniform = |V|, the perplexity of a model that learned nothing; unigram = the "
    "add-one unigram model of the training range on the same test tokens. MKN: interpolated modified "
    "Kneser-Ney (as KenLM's lmplz); MLE: maximum likelihood; add-k: Lidstone. KenLM column: lmplz + query "
    "on the same text and split (incl. / excl. OOV), where it was measured."
)


BOOK_NOTE = (
    "The book (d2l §8.5-9.2) trains on the first 10,000 characters and prints training perplexity 1.0-1.3 after "
    "500 epochs: memorized text, no held-out set, so not comparable with the test figures above. A uniform "
    f"character model scores {ref.CHAR_VOCAB}."
)


def test_range(fractions: str | list[float] | tuple[float, ...] | None, by: str = "lines") -> str:
    """Where the test tokens come from, in words.

    >>> test_range([0.9]), test_range("0.9,0.05", "tokens"), test_range("none")
    ('last 10% of lines', 'last 5% of tokens', 'no test range')
    """
    if fractions is None:
        return "unknown range"
    if isinstance(fractions, str) and fractions.strip().lower() == "none":
        return "no test range"
    rest = 1.0 - sum(parse_fractions(fractions if isinstance(fractions, str) else tuple(fractions)))
    return f"last {rest * 100:.3g}% of {by}"


def neural_test_range(data: dict[str, Any]) -> str:
    """`test_range` of a neural model's data config, where `split: null` means it had none (`--split none`).

    >>> neural_test_range({"split": None}), neural_test_range({}), neural_test_range({"split": [0.9, 0.05]})
    ('no test range', 'unknown range', 'last 5% of lines')
    """
    if "split" in data and data["split"] is None:
        return "no test range"
    return test_range(data.get("split"), data.get("split_by", "lines"))


def _ngram_row(m: NgramLMResult) -> dict[str, Any]:
    cfg = {**m.text, **m.config}
    kenlm = ref.kenlm_reference(m.sources, m.config)
    smoothing = f"add-{m.k:g}" if m.smoothing == "addk" and m.k is not None else SMOOTHING.get(m.smoothing, m.smoothing)
    return {
        "name": m.name, "family": "n-gram", "what": f"{m.order}-gram, {smoothing}",
        "unit": cfg.get("tokens", "word"),
        "test": (tuple(m.sources), cfg.get("normalize"), cfg.get("tokens", "word"), test_range(cfg.get("split"))),
        "tokens": m.tokens, "oovs": m.oovs, "ppl_incl": m.ppl_incl_oov, "ppl_excl": m.ppl_excl_oov,
        "nats": m.nll / m.tokens if m.nll is not None and m.tokens else None,
        "uniform": m.uniform_ppl, "unigram": None,
        "reference": "{:.3f} / {:.3f}".format(*kenlm) if kenlm else None,
        "oov_policy": "unseen → <unk>; excl. drops them",
    }


def _neural_row(m: NeuralLMResult) -> dict[str, Any]:
    data, model = m.config.get("data", {}), m.config.get("model", {})
    test = m.test or {}
    oovs = test.get("n_oov", m.oov.get("test"))
    vocab = "snapshot vocab" if data.get("vocab_path") else "train vocab" + (f", min_freq {data['min_freq']}" if data.get("min_freq") else "")
    shape = f"{model.get('layers', 1)}×{model.get('hidden', '?')}" if model else ""
    calibrated = f", temperature {m.temperature:.3g} (fitted on valid)" if m.temperature != 1.0 else ""
    return {
        "name": m.name, "family": "neural",
        "what": f"{(m.model or model.get('kind', '')).upper()} {shape}".strip() + calibrated,
        "unit": data.get("tokens", "?"),
        "test": (tuple(data.get("sources", ())), data.get("normalize"), data.get("tokens"),
                 neural_test_range(data)),
        "tokens": test.get("n_tokens"), "oovs": oovs, "ppl_incl": m.test_ppl, "ppl_excl": test.get("ppl_known"),
        "nats": m.test_nats, "uniform": float(m.vocab_size) if m.vocab_size else None,
        "unigram": m.unigram_test_ppl, "reference": None,
        "oov_policy": f"{vocab}; unseen → <unk>",
    }


def _dynamic_row(m: NeuralLMResult) -> dict[str, Any]:
    """The same model's test by dynamic evaluation: its own row, named so, on the same test set."""
    test = m.dynamic_test or {}
    row = _neural_row(m)
    lr = m.config.get("train", {}).get("dynamic_lr")
    return {**row, "name": f"{m.name} (dynamic evaluation)", "what": f"{row['what']}, adapting (SGD lr {lr:g})",
            "tokens": m.dynamic_test_eval_tokens, "oovs": test.get("n_oov", row["oovs"]),
            "ppl_incl": m.dynamic_test_ppl, "ppl_excl": test.get("ppl_known"), "nats": m.dynamic_test_nats}


def _describe(key: tuple[Any, ...]) -> str:
    sources, normalize, unit, where = key
    return f"{unit} tokens, {where} of {', '.join(sources) or '?'} ({normalize} text)"


def lm_table(run: RunData) -> Table:
    """Test perplexity of every n-gram order / smoothing and every neural model, with baselines."""
    rows = [_ngram_row(m) for m in run.ngram] + [_neural_row(m) for m in run.neural]
    rows += [_dynamic_row(m) for m in run.neural if m.dynamic_test_ppl is not None]
    sets: dict[tuple[Any, ...], str] = {}
    for row in rows:
        row["set"] = sets.setdefault(row["test"], "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[len(sets) % 26])
    note = ""
    if len(sets) > 1:
        note = ("These models are NOT all scored on the same test tokens: compare perplexities only within one "
                "test set (a character model's perplexity is per character, a word model's per word).")
    columns = [
        Column("name", "model"), Column("what", "kind"), Column("set", "test set"),
        Column("tokens", "tokens", "int"), Column("oovs", "OOVs", "int"),
        Column("ppl_incl", "ppl incl. OOV", "ppl"), Column("ppl_excl", "ppl excl. OOV", "ppl"),
        Column("nats", "nats / token", "dec3"), Column("uniform", "uniform |V|", "int"),
        Column("unigram", "unigram", "ppl"), Column("reference", "KenLM, same setup"),
        Column("oov_policy", "OOV handling", wrap=True),
    ]
    best = ("ppl_incl", "ppl_excl", "nats") if len(sets) == 1 else ()
    table = Table("lm-perplexity", "Test perplexity of every language model", columns, rows, note=note, best_min=best)
    table.extra["test_sets"] = {letter: _describe(key) for key, letter in sets.items()}
    table.extra["definitions"] = LM_NOTE
    book_chars = any(r["family"] == "neural" and r["test"][1:3] == ("d2l", "char") and "timemachine" in r["test"][0]
                     for r in rows)
    table.extra["book"] = BOOK_NOTE if book_chars else ""
    return table


def ngram_details(run: RunData) -> Table:
    """Per n-gram model: training size, n-grams stored, zero-probability tokens, discount fallbacks."""
    rows = []
    for m in run.ngram:
        arpa = m.folder / "lm.arpa" if m.folder else None
        rows.append({
            "name": m.name, "train_lines": m.split.get("train", {}).get("lines"),
            "train_tokens": m.split.get("train", {}).get("tokens"), "vocab": m.vocab_size,
            "ngrams": " / ".join(f"{x:,}" for x in m.ngrams), "zero": m.zero_prob_tokens,
            "fallback": "; ".join(f"order {k}: {why}" for k, why in m.discount_fallback.items()) or "none",
            "arpa": f"models/{m.name}/lm.arpa" if arpa is not None and arpa.is_file() else None,
        })
    return Table("ngram-models", "n-gram models", [
        Column("name", "model"), Column("train_lines", "train lines", "int"), Column("train_tokens", "train tokens", "int"),
        Column("vocab", "|V|", "int"), Column("ngrams", "n-grams stored per order"),
        Column("zero", "zero-prob. tokens", "int"), Column("fallback", "discount fallback", wrap=True), Column("arpa", "ARPA file", "link"),
    ], rows, note="Zero-probability tokens make the perplexity infinite (MLE on unseen n-grams).")


def neural_details(run: RunData) -> Table:
    """Per neural model: size, data, how training went, speed."""
    rows = []
    for m in run.neural:
        model, train = m.config.get("model", {}), m.config.get("train", {})
        rows.append({
            "name": m.name, "params": m.params, "input": f"emb {model['embedding']}" if model.get("embedding") else "one-hot",
            "train_tokens": m.tokens.get("train"),
            "optim": f"{train.get('optimizer', '?')} lr {train.get('lr', '?')}, {train.get('batch_size', '?')}×"
                     f"{train.get('num_steps', '?')}" if train else None,
            "epochs": f"{m.epochs} ({m.stopped})" if m.stopped else m.epochs, "best": m.best_epoch,
            "train_ppl": m.train_ppl, "valid_ppl": m.valid_ppl, "speed": m.tokens_per_s, "device": m.device,
            "wall": m.wall_s,
        })
    return Table("neural-models", "Neural models", [
        Column("name", "model"), Column("params", "parameters", "int"), Column("input", "input"),
        Column("train_tokens", "train tokens", "int"), Column("optim", "optimizer, batch × steps"),
        Column("epochs", "epochs (stopped by)"), Column("best", "best epoch", "int"),
        Column("train_ppl", "train ppl", "ppl"), Column("valid_ppl", "valid ppl", "ppl"),
        Column("speed", "tokens / s", "int"), Column("device", "device"), Column("wall", "wall time", "seconds"),
    ], rows, note="Train perplexity: the last epoch's running figure. Valid perplexity: the weights the run ended "
                  "with (the best valid epoch when restore_best is on).")
