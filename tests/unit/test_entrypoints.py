"""Every deployment in prefect.yaml points at a loadable flow of the expected name."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from prefect.exceptions import ParameterTypeError
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[2]
EXPECTED = {"flows/pipeline.py:pipeline": "seqpipe", "flows/corpus_refresh.py:corpus_refresh": "corpus-refresh",
            "flows/corpus_stats.py:corpus_stats": "corpus-stats"}


def test_every_entrypoint_loads():
    text = (ROOT / "prefect.yaml").read_text()
    spec = yaml.safe_load(text)
    # no pull steps and no environment variables: `prefect deploy` records the checkout it runs in
    assert spec["pull"] is None and "{{ $" not in text
    names = set()
    for d in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / d["entrypoint"]))
        names.add(f"{flow.name}/{d['name']}")
        if d["entrypoint"] in EXPECTED:
            assert flow.name == EXPECTED[d["entrypoint"]]
    assert {"seqpipe/default", "corpus-refresh/scheduled"} <= names
    assert len(names) == len(spec["deployments"]), "two deployments share a name"


def test_serve_builds_the_same_deployments(tmp_path):
    from flows.serve import deployments_from_yaml

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = deployments_from_yaml()
    assert [(d.name, d.entrypoint) for d in deployments] == [(d["name"], d["entrypoint"]) for d in spec["deployments"]]
    assert all(Path(d.storage.destination).resolve() == ROOT for d in deployments)  # loaded from this checkout
    refresh = next(d for d in deployments if d.name == "scheduled")
    assert refresh.concurrency_limit == 1 and refresh.concurrency_options.collision_strategy == "CANCEL_NEW"
    assert refresh.parameters == {}  # the flow's defaults (data/pipeline.yaml) apply
    (schedule,) = refresh.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone) == ("0 3 * * *", "UTC")
    # a schedule's own time zone is kept (not replaced by UTC)
    (tmp_path / "prefect.yaml").write_text((ROOT / "prefect.yaml").read_text().replace("timezone: UTC",
                                                                                       "timezone: Asia/Tokyo"))
    refresh = next(d for d in deployments_from_yaml(tmp_path / "prefect.yaml") if d.name == "scheduled")
    assert refresh.schedules[0].schedule.timezone == "Asia/Tokyo"


def test_every_deployments_parameters_validate_against_its_flow():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    left_to_the_run = {"flows/report.py:report": {"run_dir": "seqpipe-out/runs/r1"}}  # no default on purpose
    for d in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / d["entrypoint"]))
        given = {**left_to_the_run.get(d["entrypoint"], {}), **(d.get("parameters") or {})}
        flow.validate_parameters(given)  # raises ParameterTypeError when one is wrong or missing
    refresh = load_flow_from_entrypoint(str(ROOT / "flows/corpus_refresh.py:corpus_refresh"))
    with pytest.raises(ParameterTypeError):  # the check is real: an empty corpus is refused
        refresh.validate_parameters({"corpus": {"sources": []}})
