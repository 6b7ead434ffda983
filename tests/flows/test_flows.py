"""The flows against a real temporary Prefect server (prefect_test_harness)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from flows.ingest import ingest
from flows.pipeline import pipeline
from storage.query import scan
from vinci.config import ConfigError

pytestmark = pytest.mark.prefect

DEMO = {"sources": [{"adapter": "demo", "size": 90, "seed": 1}], "shard_rows": 30}


def test_ingest_flow_writes_dataset_artifact_and_caches_shards(prefect_api, data_root):
    state = ingest(config=DEMO, data_root=data_root, workers=2, return_state=True)
    summary = state.result()
    assert summary["rows"] == 90 and set(summary["rows_by_domain"]) == {
        "chart",
        "web",
        "svg",
        "latex",
        "science",
    }
    assert scan("ingest", data_root).collect().height == 90
    assert prefect_api.task_states(state.state_details.flow_run_id, "ingest-shard") == ["Completed"] * 3
    # results are persisted under the data root
    assert any(Path(data_root, "_prefect", "results").iterdir())
    table = prefect_api.artifact("ingest-summary")
    assert {"group": "total", "name": "rows", "count": 90} in table
    assert sum(r["count"] for r in table if r["group"] == "domain") == 90

    # the same run again: every shard comes back from the cache
    again = ingest(config=DEMO, data_root=data_root, workers=2, return_state=True)
    assert again.result()["version"] == summary["version"]
    assert prefect_api.task_states(again.state_details.flow_run_id, "ingest-shard") == ["Cached"] * 3

    # a deleted dataset folder is rebuilt, not resurrected from stale cache entries
    shutil.rmtree(summary["uri"])
    third = ingest(config=DEMO, data_root=data_root, workers=1, return_state=True)
    assert third.result()["rows"] == 90
    assert prefect_api.task_states(third.state_details.flow_run_id, "ingest-shard") == ["Completed"] * 3
    assert scan("ingest", data_root).collect().height == 90


def test_pipeline_flow_runs_stages_in_order(prefect_server, data_root, tmp_path):
    import yaml

    (tmp_path / "ingest.yaml").write_text(yaml.safe_dump(DEMO))
    (tmp_path / "pipeline.yaml").write_text(yaml.safe_dump({"stages": {"ingest": "ingest.yaml"}}))
    results = pipeline(config=str(tmp_path / "pipeline.yaml"), data_root=data_root, workers=1)
    assert list(results) == ["ingest"] and results["ingest"]["rows"] == 90

    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({"stages": {"ingest": "ingest.yaml", "polish": "x.yaml"}}))
    with pytest.raises(ConfigError, match="unknown stage.*polish"):
        pipeline(config=str(tmp_path / "bad.yaml"), data_root=data_root)


def test_flow_rejects_invalid_config(prefect_server, data_root):
    with pytest.raises(ConfigError, match=r"sources\.0\.demo\.size: Input should be greater than or equal to 0"):
        ingest(config={"sources": [{"adapter": "demo", "size": -1}]}, data_root=data_root)


def test_cli_reports_to_the_server_named_by_prefect_api_url(prefect_server, data_root):
    import os
    import subprocess
    import sys

    from prefect.settings import PREFECT_API_URL

    url = PREFECT_API_URL.value()
    assert url and url.startswith("http://127.0.0.1")
    env = {**os.environ, "PREFECT_API_URL": url, "VINCI_PROGRESS": "0"}
    out = subprocess.run(
        [sys.executable, "-m", "vinci.cli", "ingest", "demo:20", "--data-root", data_root, "--workers", "1"],
        env=env,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "Starting temporary server" not in out.stdout + out.stderr

    async def runs():
        async with get_client() as client:
            return await client.read_flow_runs()

    mine = [r for r in asyncio.run(runs()) if r.parameters.get("data_root") == data_root]
    assert len(mine) == 1 and mine[0].state.is_completed()
