"""Architecture rules that must hold for every file: the library never imports Prefect, and who may import
whom inside it (README, "Layout")."""

from __future__ import annotations

import ast
import fnmatch
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(package: Path) -> dict[str, set[str]]:
    """Dotted names each file of a package imports (relative imports resolved; `from a import b` adds a and a.b)."""
    found = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        here = parts[:-1]  # the package a relative import starts from
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
        found[str(path.relative_to(ROOT))] = names
    return found


def imported_top_level_modules(package: Path) -> dict[str, set[str]]:
    """Top-level module names imported by each file of a package (any import statement, any depth)."""
    return {f: {n.split(".")[0] for n in names} for f, names in imported_modules(package).items()}


# (package, modules it must never import; fnmatch patterns on dotted names, a package covers its modules)
RULES = [
    ("seqpipe/report", ["seqpipe.train", "seqpipe.ngram_lm.*", "seqpipe.ngram_lm", "reference_lm"]),
    ("seqpipe/models", ["seqpipe.series", "seqpipe.train", "seqpipe.eval", "seqpipe.report"]),
    ("seqpipe/text", ["seqpipe.ngrams", "seqpipe.ngram_lm", "seqpipe.models"]),
    ("seqpipe/series", ["seqpipe.train", "seqpipe.eval", "seqpipe.models", "seqpipe.report"]),
    # counting and storing never reach up into the models estimated from the counts
    ("seqpipe/ngrams", ["seqpipe.ngram_lm", "seqpipe.train", "seqpipe.models", "seqpipe.report"]),
    # the product has one n-gram estimator; the in-memory one is a test reference only
    ("seqpipe", ["reference_lm"]),
]


def forbidden(names: set[str], patterns: list[str]) -> set[str]:
    """The names that match a pattern, or lie inside a package that does."""
    return {n for n in names for p in patterns if fnmatch.fnmatchcase(n, p) or fnmatch.fnmatchcase(n, p + ".*")}


@pytest.mark.parametrize(("package", "patterns"), RULES, ids=[r[0] for r in RULES])
def test_who_may_import_whom(package, patterns):
    offenders = {f: sorted(bad) for f, names in imported_modules(ROOT / package).items()
                 if (bad := forbidden(names, patterns))}
    assert not offenders, f"{package}/ must not import {patterns}: {offenders}"


def test_the_report_loads_no_model_code_even_indirectly():
    code = ("import sys, seqpipe.report.render, seqpipe.report.samples; "
            "print(' '.join(m for m in sys.modules if m.startswith('seqpipe.') or m == 'torch'))")
    loaded = set(subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.split())
    assert "seqpipe.report.samples" in loaded
    assert not forbidden(loaded, [*RULES[0][1], "seqpipe.models", "torch"]), sorted(loaded)


def test_the_rule_checker_sees_relative_and_nested_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "seqpipe" / "report"
    pkg.mkdir(parents=True)
    (pkg / "x.py").write_text("def f():\n    from ..train import run\n    from ..ngram_lm.stage import run_and_save\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    names = imported_modules(pkg)["seqpipe/report/x.py"]
    assert forbidden(names, RULES[0][1]) == {"seqpipe.train", "seqpipe.train.run", "seqpipe.ngram_lm.stage",
                                             "seqpipe.ngram_lm.stage.run_and_save"}


def test_library_is_prefect_free():
    offenders = {f for f, names in imported_top_level_modules(ROOT / "seqpipe").items() if names & {"prefect", "prefect_dask"}}
    assert not offenders, f"seqpipe/ must not import prefect: {sorted(offenders)}"


def test_library_does_not_import_tasks_or_flows():
    offenders = {f for f, names in imported_top_level_modules(ROOT / "seqpipe").items() if names & {"tasks", "flows"}}
    assert not offenders


def test_the_checker_sees_imports():
    assert "prefect" in set().union(*imported_top_level_modules(ROOT / "tasks").values())


def test_one_device_picker():
    """Only `seqpipe.train.seed.resolve_device` asks torch for CUDA; every trainer calls it."""
    askers = {str(p.relative_to(ROOT)) for p in (ROOT / "seqpipe").rglob("*.py")
              if "cuda.is_available" in p.read_text(encoding="utf-8") and p.name != "seed.py"}
    assert not askers, f"pick the device with seqpipe.train.seed.resolve_device, not in {sorted(askers)}"
