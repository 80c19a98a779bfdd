"""Read Prefect artifacts back in flow tests: the newest per key, since every flow test shares stable keys."""

from __future__ import annotations

from typing import Any


def newest_artifacts(*keys: str) -> dict[str, Any]:
    """The newest artifact of each key (other flow tests of the session publish under the same keys)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=list(keys))),
                                      sort=ArtifactSort.CREATED_DESC)
    newest: dict[str, Any] = {}
    for artifact in found:
        newest.setdefault(artifact.key, artifact)
    return newest
