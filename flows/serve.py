"""Serve every deployment of prefect.yaml from this process (no work pool needed): `python -m flows.serve`.

Schedules need a real server (`make server`); against the ephemeral API Prefect refuses to schedule.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from prefect import serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.flows import load_flow_from_entrypoint

ROOT = Path(__file__).resolve().parents[1]


def deployments_from_yaml(path: Path = ROOT / "prefect.yaml") -> list:
    """One `RunnerDeployment` per entry of prefect.yaml, with its parameters, schedules and limits."""
    spec = yaml.safe_load(path.read_text())
    out = []
    for d in spec["deployments"]:
        flow = load_flow_from_entrypoint(str(ROOT / d["entrypoint"]))
        limit = d.get("concurrency_limit")
        out.append(
            flow.to_deployment(
                name=d["name"],
                description=d.get("description"),
                parameters=d.get("parameters") or {},
                cron=[s["cron"] for s in d.get("schedules", [])] or None,
                concurrency_limit=ConcurrencyLimitConfig(**limit) if isinstance(limit, dict) else limit,
            )
        )
    return out


if __name__ == "__main__":
    serve(*deployments_from_yaml())
