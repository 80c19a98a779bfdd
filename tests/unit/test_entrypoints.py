"""Every deployment in prefect.yaml points at a loadable flow of the expected name."""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {"flows/pipeline.py:pipeline": "seqpipe", "flows/corpus_refresh.py:corpus_refresh": "corpus-refresh",
            "flows/corpus_stats.py:corpus_stats": "corpus-stats"}


def test_every_entrypoint_loads():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert spec["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"]
    names = set()
    for d in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / d["entrypoint"]))
        names.add(f"{flow.name}/{d['name']}")
        if d["entrypoint"] in EXPECTED:
            assert flow.name == EXPECTED[d["entrypoint"]]
    assert {"seqpipe/default", "corpus-refresh/scheduled"} <= names
    assert len(names) == len(spec["deployments"]), "two deployments share a name"


def test_serve_builds_the_same_deployments():
    from flows.serve import deployments_from_yaml

    deployments = deployments_from_yaml()
    refresh = next(d for d in deployments if d.name == "scheduled")
    assert refresh.concurrency_limit == 1 or getattr(refresh.concurrency_limit, "limit", None) == 1
    assert refresh.schedules
