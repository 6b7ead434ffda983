"""Reading a flow run's task runs and artifacts back from the Prefect API (the `prefect_api` fixture)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable
from types import SimpleNamespace

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.sorting import ArtifactSort
from prefect.settings import PREFECT_API_URL


def task_runs(flow_run_id) -> dict[str, str]:
    """Task run name -> state name, for one flow run."""

    async def read():
        async with get_client() as client:
            return await client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))

    return {r.name: r.state.name for r in asyncio.run(read())}


def task_states(flow_run_id, prefix: str) -> list[str]:
    """States of the flow run's task runs whose name starts with `prefix`, in name order."""
    runs = task_runs(flow_run_id)
    return [runs[name] for name in sorted(runs) if name.startswith(prefix)]


def artifact(key: str) -> list[dict]:
    """The data of the newest artifact with `key` (a table artifact's rows)."""

    async def read():
        async with get_client() as client:
            return await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), sort=ArtifactSort.CREATED_DESC
            )

    found = asyncio.run(read())
    assert found, f"no artifact with key {key}"
    data = found[0].data
    if isinstance(data, str) and found[0].type == "table":
        return json.loads(data)
    return data


def materializations(
    wait_for: Iterable[str] = (), api_url: str | None = None, timeout: float = 90.0
) -> dict[str, dict]:
    """Asset key -> its newest succeeded materialization: `upstream` asset keys, `payload` (metadata), `name`.

    Events are stored by the server asynchronously, so this polls until every key in `wait_for` is there."""
    api = api_url or PREFECT_API_URL.value()
    wanted = set(wait_for)
    deadline = time.monotonic() + timeout
    while True:
        body = {"filter": {"event": {"name": ["prefect.asset.materialization.succeeded"]}}, "limit": 50}
        page = httpx.post(f"{api}/events/filter", json=body, timeout=30).raise_for_status().json()
        events = page["events"]
        while page.get("next_page"):
            page = httpx.get(page["next_page"], timeout=30).raise_for_status().json()
            events += page["events"]
        found: dict[str, dict] = {}
        for event in sorted(events, key=lambda e: e["occurred"]):
            resource = event["resource"]
            found[resource["prefect.resource.id"]] = {
                "name": resource.get("prefect.resource.name"),
                "upstream": sorted(
                    r["prefect.resource.id"] for r in event["related"] if r.get("prefect.resource.role") == "asset"
                ),
                "payload": event.get("payload") or {},
            }
        if wanted <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(1.0)


READS = SimpleNamespace(
    task_runs=task_runs, task_states=task_states, artifact=artifact, materializations=materializations
)


@pytest.fixture
def prefect_reads() -> SimpleNamespace:
    """The readers, against whichever API `PREFECT_API_URL` names (e.g. a served one, in `temporary_settings`)."""
    return READS


@pytest.fixture
def prefect_api(prefect_server) -> SimpleNamespace:
    """The readers, against the session's temporary Prefect server."""
    return READS
