"""Architecture rules that must hold for every file: the library never imports Prefect."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def imported_top_level_modules(package: Path) -> dict[str, set[str]]:
    """Top-level module names imported by each file of a package (any import statement, any depth)."""
    found = {}
    for path in package.rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_library_is_prefect_free():
    offenders = {f for f, names in imported_top_level_modules(ROOT / "seqpipe").items() if names & {"prefect", "prefect_dask"}}
    assert not offenders, f"seqpipe/ must not import prefect: {sorted(offenders)}"


def test_library_does_not_import_tasks_or_flows():
    offenders = {f for f, names in imported_top_level_modules(ROOT / "seqpipe").items() if names & {"tasks", "flows"}}
    assert not offenders


def test_the_checker_sees_imports():
    assert "prefect" in set().union(*imported_top_level_modules(ROOT / "tasks").values())
