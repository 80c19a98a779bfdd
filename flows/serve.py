"""Serve every deployment of prefect.yaml from this process (no work pool needed): `python -m flows.serve`.

prefect.yaml is read by the model and schedule conversion `prefect deploy` itself uses, and each flow is
loaded with `Flow.from_source` from this checkout: names, parameters, schedules (with their time zones)
and concurrency limits are the deployed ones. Schedules need a real server (`make server`); against the
ephemeral API Prefect refuses to schedule.
"""

from __future__ import annotations

from pathlib import Path

from prefect import Flow, serve
from prefect.cli.deploy._models import PrefectYamlModel  # `prefect deploy`'s reading of prefect.yaml
from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule
from prefect.client.schemas.objects import ConcurrencyLimitConfig
from prefect.deployments.runner import RunnerDeployment

from seqpipe.io import read_yaml

ROOT = Path(__file__).resolve().parents[1]


def deployments_from_yaml(path: Path = ROOT / "prefect.yaml", source: Path = ROOT) -> list[RunnerDeployment]:
    """One deployment per entry of prefect.yaml, read as `prefect deploy` reads it, its flow from `source`."""
    out = []
    for d in PrefectYamlModel.model_validate(read_yaml(path)).deployments:
        spec = d.model_dump(exclude_unset=True, exclude_none=True, mode="json")
        limit = spec.get("concurrency_limit")
        flow = Flow.from_source(source=str(source), entrypoint=spec["entrypoint"])
        out.append(
            flow.to_deployment(
                name=spec["name"],
                description=spec.get("description"),
                parameters=spec.get("parameters") or {},
                schedules=[_schedule_config_to_deployment_schedule(s) for s in spec.get("schedules", [])],
                concurrency_limit=ConcurrencyLimitConfig(**limit) if isinstance(limit, dict) else limit,
            )
        )
    return out


if __name__ == "__main__":
    serve(*deployments_from_yaml())
