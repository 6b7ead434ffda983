"""Reading a flow run's task runs and artifacts back from the Prefect API (the `prefect_api` fixture)."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId


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
            return await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))

    found = asyncio.run(read())
    assert found, f"no artifact with key {key}"
    data = found[0].data
    return json.loads(data) if isinstance(data, str) else data


@pytest.fixture
def prefect_api(prefect_server) -> SimpleNamespace:
    return SimpleNamespace(task_runs=task_runs, task_states=task_states, artifact=artifact)
